-- Orders and revenue per sales region and minute of order time (refunds without
-- a sale in the data: their return time, fct_revenue): what the dashboard
-- compares today so far with yesterday up to the same minute by (KPI cards,
-- regional growth), where a day's totals would set a partial day against a
-- whole one.
with

revenue as (
    select * from {{ ref('fct_revenue') }}
),

geography as (
    select * from {{ ref('dim_geography') }}
),

per_region_minute as (
    select
        geography.region,
        date_trunc('minute', revenue.booked_at) as sales_minute,
        count(distinct revenue.order_id) as order_count,
        cast(sum(revenue.booked_revenue) as {{ sql_type('money') }}) as booked_revenue,
        cast(sum(revenue.net_revenue) as {{ sql_type('money') }}) as net_revenue,
        cast(sum(revenue.margin_amount) as {{ sql_type('money') }}) as margin_amount,
        max(case when revenue.line_kind = 'sale' then revenue.booked_at end)
            as newest_ordered_at
    from revenue
    inner join geography on revenue.ship_country_code = geography.country_code
    group by 1, 2
)

select * from per_region_minute
