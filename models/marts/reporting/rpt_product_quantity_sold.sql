-- Units sold, returned and kept per product, all time.
with

sales as (
    select * from {{ ref('fct_sales') }}
),

per_product as (
    select
        product_id,
        cast(sum(quantity) as bigint) as units_sold,
        cast(sum(returned_quantity) as bigint) as units_returned,
        cast(sum(case when is_cancelled then quantity else 0 end) as bigint) as units_cancelled,
        cast(sum(kept_quantity) as bigint) as units_kept
    from sales
    group by product_id
)

select * from per_product
