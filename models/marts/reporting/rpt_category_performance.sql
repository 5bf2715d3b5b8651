-- Revenue, units and margin per product category (the category each product
-- had when it was sold), ranked.
with

revenue as (
    select * from {{ ref('fct_revenue') }}
),

products as (
    select * from {{ ref('dim_products') }}
),

per_category as (
    select
        products.category,
        count(distinct revenue.order_id) as order_count,
        count(distinct case when revenue.line_kind = 'sale' then revenue.product_id end)
            as product_count,
        cast(sum(revenue.quantity) as bigint) as units_sold,
        sum(revenue.net_revenue) as net_revenue,
        sum(revenue.cost_amount) as cost_amount,
        sum(revenue.margin_amount) as margin_amount
    from revenue
    inner join products on revenue.product_key = products.product_key
    group by products.category
),

ranked as (
    select
        category,
        order_count,
        product_count,
        units_sold,
        cast(net_revenue as {{ sql_type('money') }}) as net_revenue,
        cast(cost_amount as {{ sql_type('money') }}) as cost_amount,
        cast(margin_amount as {{ sql_type('money') }}) as margin_amount,
        round(cast(margin_amount as double) / nullif(net_revenue, 0), 4) as margin_rate,
        row_number() over (order by net_revenue desc, category asc) as revenue_rank
    from per_category
)

select * from ranked
