-- Payment events per minute and method: what the Payments tab sets today's
-- failure and refund rates so far against yesterday's up to the same minute
-- by (a partial day's rates against a whole day's would not compare).
with

payments as (
    select * from {{ ref('fct_payments') }}
),

per_minute_method as (
    select
        date_trunc('minute', paid_at) as payment_minute,
        payment_method,
        count(*) as payment_event_count,
        cast(sum(case when is_authorized then 1 else 0 end) as bigint) as authorized_count,
        cast(sum(case when is_failed then 1 else 0 end) as bigint) as failed_count,
        cast(sum(case when is_refund then 1 else 0 end) as bigint) as refund_count
    from payments
    group by 1, 2
)

select * from per_minute_method
