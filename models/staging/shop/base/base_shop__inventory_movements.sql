with

source as (
    select * from {{ stream_source('shop', 'inventory') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
        {{ json_field('payload', 'movement_id', 'varchar') }} as movement_id,
        {{ json_field('payload', 'product_id', 'varchar') }} as product_id,
        ---------- properties
        {{ json_field('payload', 'event_type', 'varchar') }} as event_type,
        {{ json_field('payload', 'movement_type', 'varchar') }} as movement_type,
        ---------- amounts
        {{ json_field('payload', 'quantity_delta', 'integer') }} as quantity_delta,
        ---------- timestamps
        {{ json_field('payload', 'moved_at', 'timestamp') }} as moved_at,
        ---------- load metadata
        _file_name,
        _file_row_number,
        _loaded_at
    from source
),

validated as (
    select
        *,
        case
            when coalesce(event_type, '') != 'inventory_movement' then 'unknown_event_type'
            when movement_id is null then 'missing_movement_id'
            when product_id is null then 'missing_product_id'
            when
                movement_type is null
                or movement_type not in ('restock', 'sale', 'return', 'adjustment')
                then 'unknown_movement_type'
            when quantity_delta is null then 'missing_quantity_delta'
            when moved_at is null then 'missing_moved_at'
            when {{ is_impossible_timestamp('moved_at') }} then 'impossible_moved_at'
        end as invalid_reason
    from renamed
),

-- Delivery is at least once: keep the first copy of each event.
deduplicated as (
    select * from validated
    qualify row_number() over (
        partition by event_id
        order by _loaded_at, _file_name, _file_row_number
    ) = 1
)

select * from deduplicated
