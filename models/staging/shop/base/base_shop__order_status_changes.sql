with

source as (
    select * from {{ stream_source('shop', 'order_status') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
        {{ json_field('payload', 'order_id', 'varchar') }} as order_id,
        ---------- properties
        {{ json_field('payload', 'event_type', 'varchar') }} as event_type,
        {{ json_field('payload', 'status', 'varchar') }} as order_status,
        ---------- timestamps
        {{ json_field('payload', 'status_at', 'timestamp') }} as status_at,
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
            when coalesce(event_type, '') != 'order_status_changed' then 'unknown_event_type'
            when order_id is null then 'missing_order_id'
            when
                order_status is null
                or order_status not in ('paid', 'shipped', 'delivered', 'cancelled', 'returned')
                then 'unknown_order_status'
            when status_at is null then 'missing_status_at'
            when {{ is_impossible_timestamp('status_at') }} then 'impossible_status_at'
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
