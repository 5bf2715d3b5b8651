-- One row per customer: RFM scores and segment, age group and whether they came
-- back. Recency is measured from the newest order in the data, so the mart is
-- the same whenever it is rebuilt.
with

sales as (
    select * from {{ ref('fct_sales') }}
    where customer_id is not null and not is_cancelled
),

customers as (
    select * from {{ ref('dim_customers') }}
    where is_current
),

as_of as (
    select max(ordered_at) as newest_ordered_at from sales
),

per_customer as (
    select
        customer_id,
        min(ordered_at) as first_ordered_at,
        max(ordered_at) as last_ordered_at,
        count(distinct order_id) as order_count,
        sum(net_revenue) as net_revenue
    from sales
    group by customer_id
),

scored as (
    select
        per_customer.*,
        {{ datediff_days('per_customer.last_ordered_at', 'as_of.newest_ordered_at') }}
            as days_since_last_order,
        ntile(5) over (order by per_customer.last_ordered_at, per_customer.customer_id)
            as recency_score,
        ntile(5) over (order by per_customer.order_count, per_customer.customer_id)
            as frequency_score,
        ntile(5) over (order by per_customer.net_revenue, per_customer.customer_id)
            as monetary_score
    from per_customer
    cross join as_of
),

segmented as (
    select
        scored.customer_id,
        coalesce(customers.customer_name, 'Unknown customer') as customer_name,
        coalesce(customers.age_group, 'unknown') as age_group,
        coalesce(customers.customer_segment, 'unknown') as customer_segment,
        customers.country_code,
        scored.first_ordered_at,
        scored.last_ordered_at,
        scored.days_since_last_order,
        scored.order_count,
        cast(scored.net_revenue as {{ sql_type('money') }}) as net_revenue,
        scored.order_count > 1 as is_repeat_customer,
        scored.recency_score,
        scored.frequency_score,
        scored.monetary_score,
        case
            when scored.recency_score >= 4 and scored.frequency_score >= 4 then 'champion'
            when scored.recency_score >= 3 and scored.frequency_score >= 3 then 'loyal'
            when scored.recency_score >= 4 then 'new_or_promising'
            when scored.recency_score <= 2 and scored.frequency_score >= 3 then 'at_risk'
            else 'hibernating'
        end as rfm_segment
    from scored
    left join customers on scored.customer_id = customers.customer_id
)

select * from segmented
