-- Customers whose orders were shipped to more than one sales region, with
-- their current name and home country. Most regions first.
with

multi_region as (
    select * from {{ ref('rpt_multi_region_customers') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
    where is_current
),

named as (
    select
        multi_region.customer_id,
        coalesce(customers.customer_name, 'Unknown customer') as customer_name,
        customers.country_code as home_country_code,
        multi_region.region_count,
        multi_region.country_count,
        multi_region.order_count,
        multi_region.net_revenue
    from multi_region
    left join customers on multi_region.customer_id = customers.customer_id
)

select * from named
order by region_count desc, net_revenue desc, customer_id asc
