with

source as (
    select * from {{ stream_source('shop', 'order_status') }}
),

renamed as (
    select
        ---------- ids
        {{ json_text('payload', 'event_id') }} as event_id,
        {{ json_text('payload', 'order_id') }} as order_id,
        ---------- properties
        {{ json_text('payload', 'event_type') }} as event_type,
        {{ json_text('payload', 'status') }} as order_status,
        ---------- timestamps, as sent
        {{ json_text('payload', 'status_at') }} as status_at_text,
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
        {{ exact_cast('status_at_text', 'timestamp') }} as status_at
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
                when coalesce(event_type, '') != 'order_status_changed' then 'unknown_event_type'
                when {{ is_blank('order_id') }} then 'missing_order_id'
                when
                    order_status is null
                    or order_status not in ('paid', 'shipped', 'delivered', 'cancelled', 'returned')
                    then 'unknown_order_status'
                when {{ is_blank('status_at_text') }} then 'missing_status_at'
                when status_at is null then 'unparseable_status_at'
                when {{ is_impossible_timestamp('status_at') }} then 'impossible_status_at'
            end
        ) as invalid_reason
    from copies
),

explained as (
    select
        event_id,
        order_id,
        event_type,
        order_status,
        status_at,
        _file_name,
        _file_row_number,
        _loaded_at,
        invalid_reason,
        case
            when invalid_reason in ('missing_event_id', 'conflicting_duplicate') then event_id
            when invalid_reason = 'unknown_event_type' then event_type
            when invalid_reason = 'unknown_order_status' then order_status
            when invalid_reason in ('unparseable_status_at', 'impossible_status_at')
                then status_at_text
        end as invalid_value,
        _payload_hash
    from validated
)

select * from explained
