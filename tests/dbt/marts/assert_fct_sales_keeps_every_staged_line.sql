-- Every deduplicated order line in staging is in fct_sales, and nothing else is.
with

staged as (
    select order_line_id from {{ ref('stg_shop__order_lines') }}
),

sales as (
    select order_line_id from {{ ref('fct_sales') }}
),

missing_from_sales as (
    select
        staged.order_line_id,
        'missing from fct_sales' as problem
    from staged
    left join sales on staged.order_line_id = sales.order_line_id
    where sales.order_line_id is null
),

not_in_staging as (
    select
        sales.order_line_id,
        'not in staging' as problem
    from sales
    left join staged on sales.order_line_id = staged.order_line_id
    where staged.order_line_id is null
)

select * from missing_from_sales
union all
select * from not_in_staging
