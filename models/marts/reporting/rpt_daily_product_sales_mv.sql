{{
    config(
        materialized='materialized_view',
        enabled=(var('materialized_view_marts') and target.type == 'snowflake'),
        cluster_by=['order_date'],
    )
}}

-- Optional (Snowflake Enterprise Edition, var materialized_view_marts): daily
-- units and revenue per product as a materialized view Snowflake keeps up to
-- date on every change to fct_sales, instead of on a dynamic table's lag.
select
    order_date,
    product_id,
    count(*) as order_line_count,
    sum(quantity) as units_sold,
    sum(net_revenue) as net_revenue,
    sum(margin_amount) as margin_amount
from {{ ref('fct_sales') }}
group by order_date, product_id
