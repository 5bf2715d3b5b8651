with

source as (
    select * from {{ stream_source('shop', 'orders') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
        {{ json_field('payload', 'order_id', 'varchar') }} as order_id,
        {{ json_field('payload', 'customer_id', 'varchar') }} as customer_id,
        ---------- properties
        {{ json_field('payload', 'event_type', 'varchar') }} as event_type,
        {{ json_field('payload', 'channel', 'varchar') }} as channel,
        {{ json_field('payload', 'currency', 'varchar') }} as currency_code,
        {{ json_field('payload', 'ship_country', 'varchar') }} as ship_country,
        {{ json_array_size('payload', 'lines') }} as line_count,
        ---------- timestamps
        {{ json_field('payload', 'ordered_at', 'timestamp') }} as ordered_at,
        {{ json_field('payload', 'event_at', 'timestamp') }} as event_at,
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
            when coalesce(event_type, '') != 'order_placed' then 'unknown_event_type'
            when order_id is null then 'missing_order_id'
            when ordered_at is null then 'missing_ordered_at'
            when {{ is_impossible_timestamp('ordered_at') }} then 'impossible_ordered_at'
            when coalesce(line_count, 0) = 0 then 'no_lines'
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
