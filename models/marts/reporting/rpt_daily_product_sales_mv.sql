{{
    config(
        materialized='materialized_view',
        enabled=(var('materialized_view_marts') and supports_materialized_views()),
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
    cast(sum(quantity) as bigint) as units_sold,
    cast(sum(net_revenue) as {{ sql_type('money') }}) as net_revenue,
    cast(sum(margin_amount) as {{ sql_type('money') }}) as margin_amount
from {{ ref('fct_sales') }}
group by order_date, product_id
