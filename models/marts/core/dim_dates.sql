-- One row per day from the first day any event happened to the later of the
-- last one and today: the calendar grows with the data, no end year.
with

order_days as (
    select
        min(cast(ordered_at as date)) as first_day,
        max(cast(ordered_at as date)) as last_day
    from {{ ref('stg_shop__orders') }}
),

bounds as (
    select
        coalesce(first_day, current_date) as first_day,
        greatest(coalesce(last_day, current_date), current_date) as last_day
    from order_days
),

days as (
    {{ date_spine('bounds', 'first_day', 'last_day') }}
),

calendar as (
    select
        date_day,
        extract(year from date_day) as year_number,
        extract(quarter from date_day) as quarter_number,
        extract(month from date_day) as month_number,
        extract(day from date_day) as day_of_month,
        {{ iso_day_of_week('date_day') }} as day_of_week,
        case {{ iso_day_of_week('date_day') }}
            when 1 then 'Monday'
            when 2 then 'Tuesday'
            when 3 then 'Wednesday'
            when 4 then 'Thursday'
            when 5 then 'Friday'
            when 6 then 'Saturday'
            else 'Sunday'
        end as day_name,
        {{ iso_day_of_week('date_day') }} in (6, 7) as is_weekend,
        cast(date_trunc('month', date_day) as date) as month_start_date,
        cast(date_trunc('week', date_day) as date) as week_start_date
    from days
)

select * from calendar
