-- The live view: orders and revenue per minute of order time (refunds without
-- a sale in the data: their return time, fct_revenue). The embedded engine
-- refreshes it every second; Snowflake every minute, its shortest lag
-- (_reporting__models.yml).
{{ config(meta={'embedded_target_lag': '1 second'}) }}

with

revenue as (
    select * from {{ ref('fct_revenue') }}
),

per_minute as (
    select
        date_trunc('minute', booked_at) as sales_minute,
        count(distinct order_id) as order_count,
        count(order_line_id) as order_line_count,
        cast(sum(quantity) as bigint) as units_sold,
        cast(sum(gross_revenue) as {{ sql_type('money') }}) as gross_revenue,
        cast(sum(discount_amount) as {{ sql_type('money') }}) as discount_amount,
        cast(sum(booked_revenue) as {{ sql_type('money') }}) as booked_revenue,
        cast(sum(net_revenue) as {{ sql_type('money') }}) as net_revenue,
        max(case when line_kind = 'sale' then booked_at end) as newest_ordered_at
    from revenue
    group by 1
)

select * from per_minute
