-- Revenue and margin per day, sales region, country and product category (as
-- sold): the grain the dashboard's region and category filters slice. Orders
-- are counted per cell; an order spanning two categories counts in both.
with

sales as (
    select * from {{ ref('fct_sales') }}
),

products as (
    select * from {{ ref('dim_products') }}
),

geography as (
    select * from {{ ref('dim_geography') }}
),

per_cell as (
    select
        sales.order_date,
        geography.region,
        sales.ship_country_code as country_code,
        geography.country_name,
        products.category,
        count(distinct sales.order_id) as order_count,
        count(*) as order_line_count,
        cast(sum(sales.quantity) as bigint) as units_sold,
        cast(sum(sales.booked_revenue) as {{ sql_type('money') }}) as booked_revenue,
        cast(sum(sales.net_revenue) as {{ sql_type('money') }}) as net_revenue,
        cast(sum(sales.cost_amount) as {{ sql_type('money') }}) as cost_amount,
        cast(sum(sales.margin_amount) as {{ sql_type('money') }}) as margin_amount
    from sales
    inner join products on sales.product_key = products.product_key
    inner join geography on sales.ship_country_code = geography.country_code
    group by 1, 2, 3, 4, 5
)

select * from per_cell
