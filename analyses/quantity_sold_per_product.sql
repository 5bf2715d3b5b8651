-- Units sold, returned, cancelled and kept per product (all time), with the
-- product's current name and category. Most units kept first.
with

quantities as (
    select * from {{ ref('rpt_product_quantity_sold') }}
),

products as (
    select * from {{ ref('dim_products') }}
    where is_current
),

named as (
    select
        quantities.product_id,
        coalesce(products.product_name, 'Unknown product') as product_name,
        coalesce(products.category, 'unknown') as category,
        quantities.units_sold,
        quantities.units_returned,
        quantities.units_cancelled,
        quantities.units_kept
    from quantities
    left join products on quantities.product_id = products.product_id
)

select * from named
order by units_kept desc, product_id asc
