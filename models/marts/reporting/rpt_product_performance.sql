-- Revenue, units and margin per product (current name and category), ranked.
with

revenue as (
    select * from {{ ref('fct_revenue') }}
),

products as (
    select * from {{ ref('dim_products') }}
    where is_current
),

per_product as (
    select
        product_id,
        count(distinct order_id) as order_count,
        cast(sum(quantity) as bigint) as units_sold,
        cast(sum(kept_quantity) as bigint) as units_kept,
        sum(net_revenue) as net_revenue,
        sum(cost_amount) as cost_amount,
        sum(margin_amount) as margin_amount
    from revenue
    group by product_id
),

ranked as (
    select
        per_product.product_id,
        coalesce(products.product_name, 'Unknown product') as product_name,
        coalesce(products.category, 'unknown') as category,
        per_product.order_count,
        per_product.units_sold,
        per_product.units_kept,
        cast(per_product.net_revenue as {{ sql_type('money') }}) as net_revenue,
        cast(per_product.cost_amount as {{ sql_type('money') }}) as cost_amount,
        cast(per_product.margin_amount as {{ sql_type('money') }}) as margin_amount,
        round(
            cast(per_product.margin_amount as double) / nullif(per_product.net_revenue, 0), 4
        ) as margin_rate,
        row_number() over (
            order by per_product.net_revenue desc, per_product.product_id asc
        ) as revenue_rank
    from per_product
    left join products on per_product.product_id = products.product_id
)

select * from ranked
