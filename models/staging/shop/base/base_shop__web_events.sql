with

source as (
    select * from {{ stream_source('shop', 'web_events') }}
),

renamed as (
    select
        ---------- ids
        {{ json_text('payload', 'event_id') }} as event_id,
        {{ json_text('payload', 'session_id') }} as session_id,
        {{ json_text('payload', 'customer_id') }} as customer_id,
        {{ json_text('payload', 'product_id') }} as product_id,
        {{ json_text('payload', 'order_id') }} as order_id,
        ---------- properties
        {{ json_text('payload', 'event_type') }} as event_type,
        ---------- timestamps, as sent
        {{ json_text('payload', 'occurred_at') }} as occurred_at_text,
        ---------- load metadata
        {{ json_fingerprint('payload') }} as _payload_hash,
        _file_name,
        _file_row_number,
        _loaded_at
    from source
),

typed as (
    select
        *,
        {{ exact_cast('occurred_at_text', 'timestamp') }} as occurred_at
    from renamed
),

-- The first copy of each event wins (macros/staging.sql).
copies as (
    {{ deduplicated_copies('typed') }}
),

validated as (
    select
        *,
        coalesce(
            copy_invalid_reason,
            case
                when
                    event_type is null
                    or event_type not in ('page_view', 'add_to_cart', 'checkout', 'purchase')
                    then 'unknown_event_type'
                when {{ is_blank('session_id') }} then 'missing_session_id'
                when {{ is_blank('occurred_at_text') }} then 'missing_occurred_at'
                when occurred_at is null then 'unparseable_occurred_at'
                when {{ is_impossible_timestamp('occurred_at') }} then 'impossible_occurred_at'
            end
        ) as invalid_reason
    from copies
),

explained as (
    select
        event_id,
        session_id,
        customer_id,
        product_id,
        order_id,
        event_type,
        occurred_at,
        _file_name,
        _file_row_number,
        _loaded_at,
        invalid_reason,
        case
            when invalid_reason in ('missing_event_id', 'conflicting_duplicate') then event_id
            when invalid_reason = 'unknown_event_type' then event_type
            when invalid_reason in ('unparseable_occurred_at', 'impossible_occurred_at')
                then occurred_at_text
        end as invalid_value,
        _payload_hash
    from validated
)

select * from explained
