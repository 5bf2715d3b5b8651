-- Net revenue and units per month, product category and sales region.
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

monthly as (
    select
        cast(date_trunc('month', revenue.booked_date) as date) as sales_month,
        products.category,
        geography.region,
        count(distinct revenue.order_id) as order_count,
        cast(sum(revenue.quantity) as bigint) as units_sold,
        cast(sum(revenue.net_revenue) as {{ sql_type('money') }}) as net_revenue
    from revenue
    inner join products on revenue.product_key = products.product_key
    inner join geography on revenue.ship_country_code = geography.country_code
    group by 1, 2, 3
)

select * from monthly
