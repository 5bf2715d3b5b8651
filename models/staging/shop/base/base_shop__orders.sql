with

source as (
    select * from {{ stream_source('shop', 'orders') }}
),

renamed as (
    select
        ---------- ids
        {{ json_text('payload', 'event_id') }} as event_id,
        {{ json_text('payload', 'order_id') }} as order_id,
        {{ json_text('payload', 'customer_id') }} as customer_id,
        ---------- properties
        {{ json_text('payload', 'event_type') }} as event_type,
        {{ json_text('payload', 'channel') }} as channel,
        {{ json_text('payload', 'currency') }} as currency_code,
        {{ json_text('payload', 'ship_country') }} as ship_country,
        {{ json_array_size('payload', 'lines') }} as line_count,
        ---------- timestamps, as sent
        {{ json_text('payload', 'ordered_at') }} as ordered_at_text,
        {{ json_text('payload', 'event_at') }} as event_at_text,
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
        {{ exact_cast('ordered_at_text', 'timestamp') }} as ordered_at,
        {{ exact_cast('event_at_text', 'timestamp') }} as event_at
    from renamed
),

-- The first copy of each event wins (macros/staging.sql).
copies as (
    {{ deduplicated_copies('typed') }}
),

checked as (
    select
        *,
        coalesce(
            copy_invalid_reason,
            case
                {{ order_event_checks() }}
            end
        ) as event_checked_reason
    from copies
),

-- An order is placed once: the first valid event for an order_id claims it.
order_claims as (
    {{ key_claims(
        'checked', 'order_id', 'event_checked_reason is null', 'invalid_reason is null'
    ) }}
),

validated as (
    select
        checked.*,
        coalesce(
            checked.event_checked_reason,
            case
                when order_claims.claimed_by_event_id != checked.event_id
                    then 'duplicate_order_id'
            end
        ) as invalid_reason
    from checked
    left join order_claims on checked.order_id = order_claims.order_id
),

explained as (
    select
        event_id,
        order_id,
        customer_id,
        event_type,
        channel,
        currency_code,
        ship_country,
        line_count,
        ordered_at,
        event_at,
        _file_name,
        _file_row_number,
        _loaded_at,
        invalid_reason,
        case
            {{ order_event_invalid_values() }}
        end as invalid_value,
        _payload_hash
    from validated
)

select * from explained
