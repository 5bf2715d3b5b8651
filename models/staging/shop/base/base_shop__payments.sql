with

source as (
    select * from {{ stream_source('shop', 'payments') }}
),

renamed as (
    select
        ---------- ids
        {{ json_text('payload', 'event_id') }} as event_id,
        {{ json_text('payload', 'payment_id') }} as payment_id,
        {{ json_text('payload', 'order_id') }} as order_id,
        ---------- properties
        {{ json_text('payload', 'event_type') }} as event_type,
        {{ json_text('payload', 'method') }} as payment_method,
        {{ json_text('payload', 'status') }} as payment_status,
        ---------- amounts, as sent
        {{ json_text('payload', 'amount') }} as amount_text,
        ---------- timestamps, as sent
        {{ json_text('payload', 'paid_at') }} as paid_at_text,
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
        {{ exact_cast('amount_text', 'money') }} as amount,
        {{ exact_cast('paid_at_text', 'timestamp') }} as paid_at
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
                when
                    event_type is null
                    or event_type not in (
                        'payment_authorized', 'payment_failed', 'payment_refunded'
                    )
                    then 'unknown_event_type'
                when {{ is_blank('payment_id') }} then 'missing_payment_id'
                when {{ is_blank('order_id') }} then 'missing_order_id'
                when {{ is_blank('payment_method') }} then 'missing_payment_method'
                when
                    payment_method not in (
                        'card', 'paypal', 'apple_pay', 'bank_transfer', 'gift_card'
                    )
                    then 'unknown_payment_method'
                when
                    payment_status is null
                    or payment_status not in ('authorized', 'failed', 'refunded')
                    then 'unknown_payment_status'
                -- The event says what happened, the status too: they must agree.
                when event_type != 'payment_' || payment_status
                    then 'inconsistent_payment_status'
                when not {{ is_exact('amount_text', 'money') }} then 'invalid_amount'
                when amount is null or amount > {{ max_amount() }} then 'amount_out_of_range'
                when amount < 0 then 'invalid_amount'
                when {{ is_blank('paid_at_text') }} then 'missing_paid_at'
                when paid_at is null then 'unparseable_paid_at'
                when {{ is_impossible_timestamp('paid_at') }} then 'impossible_paid_at'
            end
        ) as checked_reason
    from copies
),

-- A payment happens once: the first valid event for a payment_id claims it.
payment_claims as (
    {{ key_claims('checked', 'payment_id', 'checked_reason is null', 'invalid_reason is null') }}
),

validated as (
    select
        checked.*,
        coalesce(
            checked.checked_reason,
            case
                when payment_claims.claimed_by_event_id != checked.event_id
                    then 'duplicate_payment_id'
            end
        ) as invalid_reason
    from checked
    left join payment_claims on checked.payment_id = payment_claims.payment_id
),

explained as (
    select
        event_id,
        payment_id,
        order_id,
        event_type,
        payment_method,
        payment_status,
        amount,
        paid_at,
        _file_name,
        _file_row_number,
        _loaded_at,
        invalid_reason,
        case
            when invalid_reason in ('missing_event_id', 'conflicting_duplicate') then event_id
            when invalid_reason = 'unknown_event_type' then event_type
            when invalid_reason = 'unknown_payment_method' then payment_method
            when invalid_reason in ('unknown_payment_status', 'inconsistent_payment_status')
                then payment_status
            when invalid_reason in ('invalid_amount', 'amount_out_of_range') then amount_text
            when invalid_reason in ('unparseable_paid_at', 'impossible_paid_at') then paid_at_text
            when invalid_reason = 'duplicate_payment_id' then payment_id
        end as invalid_value,
        _payload_hash
    from validated
)

select * from explained
