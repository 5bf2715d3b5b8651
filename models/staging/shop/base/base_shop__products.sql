with

source as (
    select * from {{ stream_source('shop', 'products') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
        {{ json_field('payload', 'product_id', 'varchar') }} as product_id,
        ---------- properties
        {{ json_field('payload', 'event_type', 'varchar') }} as event_type,
        {{ json_field('payload', 'name', 'varchar') }} as product_name,
        {{ json_field('payload', 'category', 'varchar') }} as category,
        ---------- amounts
        {{ json_field('payload', 'unit_cost', 'money') }} as unit_cost,
        {{ json_field('payload', 'list_price', 'money') }} as list_price,
        {{ json_field('payload', 'initial_stock', 'integer') }} as initial_stock,
        ---------- timestamps
        {{ json_field('payload', 'updated_at', 'timestamp') }} as updated_at,
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
            when
                event_type is null
                or event_type not in ('product_created', 'product_updated', 'product_deleted')
                then 'unknown_event_type'
            when product_id is null then 'missing_product_id'
            when updated_at is null then 'missing_updated_at'
            when {{ is_impossible_timestamp('updated_at') }} then 'impossible_updated_at'
            when unit_cost < 0 or list_price < 0 then 'negative_price_or_cost'
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
