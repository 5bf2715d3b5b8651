-- Net revenue and units per month, product category and sales region.
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

monthly as (
    select
        cast(date_trunc('month', sales.order_date) as date) as sales_month,
        products.category,
        geography.region,
        count(distinct sales.order_id) as order_count,
        cast(sum(sales.quantity) as bigint) as units_sold,
        cast(sum(sales.net_revenue) as {{ sql_type('money') }}) as net_revenue
    from sales
    inner join products on sales.product_key = products.product_key
    inner join geography on sales.ship_country_code = geography.country_code
    group by 1, 2, 3
)

select * from monthly
