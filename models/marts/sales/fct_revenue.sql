{{ config(materialized='view') }}

-- The revenue ledger the revenue marts read: every sale line on its order date,
-- its refunds included, and every refund with no sale line in the data (sold
-- before the data starts, or not on the order it names) on its return date. So
-- net revenue = booked − cancelled − every refund, each counted once.
with

sales as (
    select * from {{ ref('fct_sales') }}
),

refunds_without_sale as (
    select * from {{ ref('fct_returns') }}
    where order_line_id is null
),

customers as (
    select * from {{ ref('dim_customers') }}
),

products as (
    select * from {{ ref('dim_products') }}
),

ship_countries as (
    select * from {{ ref('int_ship_countries') }}
),

sale_lines as (
    select
        ---------- keys
        'sale-' || order_line_id as revenue_line_id,
        'sale' as line_kind,
        order_line_id,
        cast(null as varchar) as return_line_id,
        order_id,
        customer_key,
        product_key,
        customer_id,
        product_id,
        ship_country_code,
        is_cancelled,
        ---------- timestamps
        ordered_at as booked_at,
        order_date as booked_date,
        ---------- quantities
        quantity,
        kept_quantity,
        ---------- amounts
        gross_revenue,
        discount_amount,
        booked_revenue,
        cancelled_amount,
        refund_amount,
        net_revenue,
        cost_amount,
        margin_amount
    from sales
),

-- Their sale (and its cost) is not in the data: the refund alone is booked.
refund_lines as (
    select
        ---------- keys
        'refund-' || refunds_without_sale.return_line_id as revenue_line_id,
        'refund_without_sale' as line_kind,
        cast(null as varchar) as order_line_id,
        refunds_without_sale.return_line_id,
        cast(null as varchar) as order_id,
        case
            when refunds_without_sale.customer_id is null then {{ not_applicable_member_key() }}
            else coalesce(customers.customer_key, {{ unknown_member_key() }})
        end as customer_key,
        coalesce(products.product_key, {{ unknown_member_key() }}) as product_key,
        refunds_without_sale.customer_id,
        refunds_without_sale.product_id,
        coalesce(ship_countries.country_code, {{ unknown_member_key() }}) as ship_country_code,
        false as is_cancelled,
        ---------- timestamps
        refunds_without_sale.returned_at as booked_at,
        refunds_without_sale.return_date as booked_date,
        ---------- quantities
        0 as quantity,
        0 as kept_quantity,
        ---------- amounts
        cast(0 as {{ sql_type('money') }}) as gross_revenue,
        cast(0 as {{ sql_type('money') }}) as discount_amount,
        cast(0 as {{ sql_type('money') }}) as booked_revenue,
        cast(0 as {{ sql_type('money') }}) as cancelled_amount,
        refunds_without_sale.refund_amount,
        cast(-refunds_without_sale.refund_amount as {{ sql_type('money') }}) as net_revenue,
        cast(0 as {{ sql_type('money') }}) as cost_amount,
        cast(-refunds_without_sale.refund_amount as {{ sql_type('money') }}) as margin_amount
    from refunds_without_sale
    left join customers
        on
            refunds_without_sale.customer_id = customers.customer_id
            and {{ version_valid_at('customers', 'refunds_without_sale.returned_at') }}
    left join products
        on
            refunds_without_sale.product_id = products.product_id
            and {{ version_valid_at('products', 'refunds_without_sale.returned_at') }}
    left join ship_countries
        on upper(refunds_without_sale.ship_country) = ship_countries.spelling
)

select * from sale_lines
union all
select * from refund_lines
