-- Monthly sales by category and region: each cell's net revenue, units and
-- orders, with its share of the month's net revenue. Newest month first.
with

monthly as (
    select * from {{ ref('rpt_monthly_sales_by_category_region') }}
),

with_share as (
    select
        sales_month,
        region,
        category,
        order_count,
        units_sold,
        net_revenue,
        round(
            cast(net_revenue as double)
            / nullif(sum(net_revenue) over (partition by sales_month), 0),
            4
        ) as share_of_month_net_revenue
    from monthly
)

select * from with_share
order by sales_month desc, region asc, net_revenue desc, category asc
