-- Payment attempts per day and method: the method mix, failure rate and
-- refund rate.
with

payments as (
    select * from {{ ref('fct_payments') }}
),

per_day_method as (
    select
        payment_date,
        payment_method,
        count(*) as payment_event_count,
        cast(sum(case when is_authorized then 1 else 0 end) as bigint) as authorized_count,
        cast(sum(case when is_failed then 1 else 0 end) as bigint) as failed_count,
        cast(sum(case when is_refund then 1 else 0 end) as bigint) as refund_count,
        sum(case when is_authorized then amount else 0 end) as authorized_amount,
        sum(case when is_refund then amount else 0 end) as refunded_amount
    from payments
    group by payment_date, payment_method
),

rates as (
    select
        payment_date,
        payment_method,
        payment_event_count,
        authorized_count,
        failed_count,
        refund_count,
        cast(authorized_amount as {{ sql_type('money') }}) as authorized_amount,
        cast(refunded_amount as {{ sql_type('money') }}) as refunded_amount,
        round(
            cast(failed_count as double) / nullif(authorized_count + failed_count, 0), 4
        ) as failure_rate,
        round(cast(refund_count as double) / nullif(authorized_count, 0), 4) as refund_rate,
        round(
            cast(authorized_count + failed_count as double)
            / nullif(sum(authorized_count + failed_count) over (partition by payment_date), 0),
            4
        ) as method_share
    from per_day_method
)

select * from rates
