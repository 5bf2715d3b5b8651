-- Customers who had orders shipped to more than one sales region.
with

sales as (
    select * from {{ ref('fct_sales') }}
    where customer_id is not null
),

geography as (
    select * from {{ ref('dim_geography') }}
),

per_customer as (
    select
        sales.customer_id,
        count(distinct geography.region) as region_count,
        count(distinct sales.ship_country_code) as country_count,
        count(distinct sales.order_id) as order_count,
        cast(sum(sales.net_revenue) as {{ sql_type('money') }}) as net_revenue
    from sales
    inner join geography on sales.ship_country_code = geography.country_code
    group by sales.customer_id
)

select * from per_customer
where region_count > 1
