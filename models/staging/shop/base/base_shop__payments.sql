with

source as (
    select * from {{ stream_source('shop', 'payments') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
        {{ json_field('payload', 'payment_id', 'varchar') }} as payment_id,
        {{ json_field('payload', 'order_id', 'varchar') }} as order_id,
        ---------- properties
        {{ json_field('payload', 'event_type', 'varchar') }} as event_type,
        {{ json_field('payload', 'method', 'varchar') }} as payment_method,
        {{ json_field('payload', 'status', 'varchar') }} as payment_status,
        ---------- amounts
        {{ json_field('payload', 'amount', 'money') }} as amount,
        ---------- timestamps
        {{ json_field('payload', 'paid_at', 'timestamp') }} as paid_at,
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
                or event_type not in ('payment_authorized', 'payment_failed', 'payment_refunded')
                then 'unknown_event_type'
            when payment_id is null then 'missing_payment_id'
            when order_id is null then 'missing_order_id'
            when payment_method is null then 'missing_payment_method'
            when amount is null or amount < 0 then 'invalid_amount'
            when paid_at is null then 'missing_paid_at'
            when {{ is_impossible_timestamp('paid_at') }} then 'impossible_paid_at'
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
