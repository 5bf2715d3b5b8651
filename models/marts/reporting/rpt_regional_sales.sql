-- Net revenue and orders per sales region and day, with day-over-day and
-- week-over-week growth.
with

revenue as (
    select * from {{ ref('fct_revenue') }}
),

geography as (
    select * from {{ ref('dim_geography') }}
),

per_region_day as (
    select
        geography.region,
        revenue.booked_date as order_date,
        count(distinct revenue.order_id) as order_count,
        sum(revenue.net_revenue) as net_revenue
    from revenue
    inner join geography on revenue.ship_country_code = geography.country_code
    group by geography.region, revenue.booked_date
),

with_history as (
    select
        region,
        order_date,
        order_count,
        cast(net_revenue as {{ sql_type('money') }}) as net_revenue,
        cast(
            lag(net_revenue) over (partition by region order by order_date)
            as {{ sql_type('money') }}
        ) as previous_day_net_revenue,
        cast(
            sum(net_revenue) over (
                partition by region order by order_date rows between 6 preceding and current row
            ) as {{ sql_type('money') }}
        ) as trailing_7_day_net_revenue
    from per_region_day
),

growth as (
    select
        *,
        round(
            cast(net_revenue - previous_day_net_revenue as double)
            / nullif(previous_day_net_revenue, 0),
            4
        ) as day_over_day_growth
    from with_history
)

select * from growth
