-- Units sold, returned and kept per product, all time.
with

sales as (
    select * from {{ ref('fct_sales') }}
),

per_product as (
    select
        product_id,
        sum(quantity) as units_sold,
        sum(returned_quantity) as units_returned,
        sum(case when is_cancelled then quantity else 0 end) as units_cancelled,
        sum(kept_quantity) as units_kept
    from sales
    group by product_id
)

select * from per_product
