-- Every customer and product that exists upstream has exactly one current
-- version in its dimension.
with

current_customers as (
    select
        customer_id as natural_key,
        count(*) as current_versions
    from {{ ref('dim_customers') }}
    where is_current and customer_id is not null
    group by customer_id
),

current_products as (
    select
        product_id as natural_key,
        count(*) as current_versions
    from {{ ref('dim_products') }}
    where is_current and product_id is not null
    group by product_id
),

existing_customers as (
    select
        'customer' as dimension,
        existing_customer.customer_id as natural_key,
        coalesce(current_customers.current_versions, 0) as current_versions
    from {{ ref('int_customers_current') }} as existing_customer
    left join current_customers on existing_customer.customer_id = current_customers.natural_key
    where not existing_customer.is_deleted
),

existing_products as (
    select
        'product' as dimension,
        existing_product.product_id as natural_key,
        coalesce(current_products.current_versions, 0) as current_versions
    from {{ ref('int_products_current') }} as existing_product
    left join current_products on existing_product.product_id = current_products.natural_key
    where not existing_product.is_deleted
),

checked as (
    select * from existing_customers
    union all
    select * from existing_products
)

select * from checked
where current_versions != 1
