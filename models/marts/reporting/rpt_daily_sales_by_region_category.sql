-- Revenue and margin per day, sales region, country and product category (as
-- sold): the grain the dashboard's region and category filters slice. Orders
-- are counted per cell; an order spanning two categories counts in both.
with

revenue as (
    select * from {{ ref('fct_revenue') }}
),

products as (
    select * from {{ ref('dim_products') }}
),

geography as (
    select * from {{ ref('dim_geography') }}
),

per_cell as (
    select
        revenue.booked_date as order_date,
        geography.region,
        revenue.ship_country_code as country_code,
        geography.country_name,
        products.category,
        count(distinct revenue.order_id) as order_count,
        count(revenue.order_line_id) as order_line_count,
        cast(sum(revenue.quantity) as bigint) as units_sold,
        cast(sum(revenue.booked_revenue) as {{ sql_type('money') }}) as booked_revenue,
        cast(sum(revenue.net_revenue) as {{ sql_type('money') }}) as net_revenue,
        cast(sum(revenue.cost_amount) as {{ sql_type('money') }}) as cost_amount,
        cast(sum(revenue.margin_amount) as {{ sql_type('money') }}) as margin_amount
    from revenue
    inner join products on revenue.product_key = products.product_key
    inner join geography on revenue.ship_country_code = geography.country_code
    group by 1, 2, 3, 4, 5
)

select * from per_cell
