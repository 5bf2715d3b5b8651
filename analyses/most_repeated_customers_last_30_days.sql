-- The customers who ordered most often in the last 30 days of data (more than
-- one order), with their current country and segment. Top 20 by default:
-- dbt compile --select most_repeated_customers_last_30_days --vars '{top_n: 50}'
with

repeat_customers as (
    select * from {{ ref('rpt_repeat_customers_30_days') }}
),

segments as (
    select * from {{ ref('rpt_customer_segments') }}
),

top_customers as (
    select
        repeat_customers.repeat_rank,
        repeat_customers.customer_id,
        repeat_customers.customer_name,
        segments.country_code,
        segments.customer_segment,
        repeat_customers.order_count_30_days,
        repeat_customers.net_revenue_30_days
    from repeat_customers
    left join segments on repeat_customers.customer_id = segments.customer_id
    where repeat_customers.repeat_rank <= {{ var('top_n', 20) }}
)

select * from top_customers
order by repeat_rank
