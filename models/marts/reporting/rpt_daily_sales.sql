-- Revenue, orders, average order value (over order totals) and margin per day
-- the revenue is booked on (fct_revenue: refunds without a sale on their
-- return date, so a day can have refunds and no orders).
with

revenue as (
    select * from {{ ref('fct_revenue') }}
),

orders as (
    select
        order_id,
        booked_date as order_date,
        max(case when is_cancelled then 1 else 0 end) as is_cancelled,
        sum(booked_revenue) as order_booked_revenue
    from revenue
    where line_kind = 'sale'
    group by order_id, booked_date
),

order_values as (
    select
        order_date,
        count(*) as order_count,
        cast(sum(is_cancelled) as bigint) as cancelled_order_count,
        avg(order_booked_revenue) as average_order_value
    from orders
    group by order_date
),

line_totals as (
    select
        booked_date as order_date,
        cast(sum(quantity) as bigint) as units_sold,
        cast(sum(kept_quantity) as bigint) as units_kept,
        sum(gross_revenue) as gross_revenue,
        sum(discount_amount) as discount_amount,
        sum(booked_revenue) as booked_revenue,
        sum(cancelled_amount) as cancelled_amount,
        sum(refund_amount) as refund_amount,
        sum(net_revenue) as net_revenue,
        sum(cost_amount) as cost_amount,
        sum(margin_amount) as margin_amount
    from revenue
    group by booked_date
),

daily as (
    select
        line_totals.order_date,
        coalesce(order_values.order_count, 0) as order_count,
        coalesce(order_values.cancelled_order_count, 0) as cancelled_order_count,
        line_totals.units_sold,
        line_totals.units_kept,
        cast(line_totals.gross_revenue as {{ sql_type('money') }}) as gross_revenue,
        cast(line_totals.discount_amount as {{ sql_type('money') }}) as discount_amount,
        cast(line_totals.booked_revenue as {{ sql_type('money') }}) as booked_revenue,
        cast(line_totals.cancelled_amount as {{ sql_type('money') }}) as cancelled_amount,
        cast(line_totals.refund_amount as {{ sql_type('money') }}) as refund_amount,
        cast(line_totals.net_revenue as {{ sql_type('money') }}) as net_revenue,
        cast(line_totals.cost_amount as {{ sql_type('money') }}) as cost_amount,
        cast(line_totals.margin_amount as {{ sql_type('money') }}) as margin_amount,
        cast(order_values.average_order_value as {{ sql_type('money') }}) as average_order_value,
        round(
            cast(line_totals.margin_amount as double) / nullif(line_totals.net_revenue, 0), 4
        ) as margin_rate
    from line_totals
    left join order_values on line_totals.order_date = order_values.order_date
)

select * from daily
