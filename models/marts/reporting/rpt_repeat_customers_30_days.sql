-- Customers by the number of orders they placed in the last 30 days of data
-- (most repeated first).
with

sales as (
    select * from {{ ref('fct_sales') }}
    where customer_id is not null and not is_cancelled
),

customers as (
    select * from {{ ref('dim_customers') }}
    where is_current
),

as_of as (
    select max(ordered_at) as newest_ordered_at from sales
),

recent_orders as (
    select
        sales.customer_id,
        count(distinct sales.order_id) as order_count_30_days,
        sum(sales.net_revenue) as net_revenue_30_days
    from sales
    cross join as_of
    where sales.ordered_at > as_of.newest_ordered_at - interval '30 days'
    group by sales.customer_id
),

ranked as (
    select
        recent_orders.customer_id,
        coalesce(customers.customer_name, 'Unknown customer') as customer_name,
        recent_orders.order_count_30_days,
        cast(recent_orders.net_revenue_30_days as {{ sql_type('money') }})
            as net_revenue_30_days,
        row_number() over (
            order by
                recent_orders.order_count_30_days desc,
                recent_orders.net_revenue_30_days desc,
                recent_orders.customer_id asc
        ) as repeat_rank
    from recent_orders
    left join customers on recent_orders.customer_id = customers.customer_id
    where recent_orders.order_count_30_days > 1
)

select * from ranked
