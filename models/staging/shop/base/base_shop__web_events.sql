with

source as (
    select * from {{ stream_source('shop', 'web_events') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
        {{ json_field('payload', 'session_id', 'varchar') }} as session_id,
        {{ json_field('payload', 'customer_id', 'varchar') }} as customer_id,
        {{ json_field('payload', 'product_id', 'varchar') }} as product_id,
        {{ json_field('payload', 'order_id', 'varchar') }} as order_id,
        ---------- properties
        {{ json_field('payload', 'event_type', 'varchar') }} as event_type,
        ---------- timestamps
        {{ json_field('payload', 'occurred_at', 'timestamp') }} as occurred_at,
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
                or event_type not in ('page_view', 'add_to_cart', 'checkout', 'purchase')
                then 'unknown_event_type'
            when session_id is null then 'missing_session_id'
            when occurred_at is null then 'missing_occurred_at'
            when {{ is_impossible_timestamp('occurred_at') }} then 'impossible_occurred_at'
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
