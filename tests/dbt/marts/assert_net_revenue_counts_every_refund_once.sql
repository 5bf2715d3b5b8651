-- The revenue convention holds: net revenue in fct_revenue = booked −
-- cancelled − every refund in fct_returns, each counted once (a refund reduces
-- its sale line, or is booked on its return date when the sale is not in the
-- data). Tagged at_rest, like the marts' sums.
{{ config(tags=['at_rest']) }}

with

ledger as (
    select round(coalesce(sum(net_revenue), 0), 2) as net_revenue
    from {{ ref('fct_revenue') }}
),

sales as (
    select round(coalesce(sum(booked_revenue - cancelled_amount), 0), 2) as kept_revenue
    from {{ ref('fct_sales') }}
),

refunds as (
    select round(coalesce(sum(refund_amount), 0), 2) as refund_amount
    from {{ ref('fct_returns') }}
)

select
    ledger.net_revenue,
    sales.kept_revenue,
    refunds.refund_amount
from ledger
cross join sales
cross join refunds
where ledger.net_revenue != sales.kept_revenue - refunds.refund_amount
