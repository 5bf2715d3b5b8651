-- Every sale with a real customer or product key points at the version that
-- was valid when the order was placed (or the first version, for an order
-- placed before it).
with

sales as (
    select * from {{ ref('fct_sales') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
    where customer_id is not null
),

products as (
    select * from {{ ref('dim_products') }}
    where product_id is not null
),

customer_mismatches as (
    select
        sales.order_line_id,
        'customer version not valid at ordered_at' as problem
    from sales
    inner join customers on sales.customer_key = customers.customer_key
    where
        sales.customer_id != customers.customer_id
        or (sales.ordered_at < customers.valid_from and not customers.is_first_version)
        or sales.ordered_at >= customers.valid_to
),

product_mismatches as (
    select
        sales.order_line_id,
        'product version not valid at ordered_at' as problem
    from sales
    inner join products on sales.product_key = products.product_key
    where
        sales.product_id != products.product_id
        or (sales.ordered_at < products.valid_from and not products.is_first_version)
        or sales.ordered_at >= products.valid_to
)

select * from customer_mismatches
union all
select * from product_mismatches
