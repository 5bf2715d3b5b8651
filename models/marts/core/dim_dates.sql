{{ config(unique_key='date_day') }}

-- One row per day from the first day any fact happened to the later of the
-- last one and today: the calendar grows with the data, no end year.
with

{%- set event_times = [
    ('stg_shop__orders', 'ordered_at'),
    ('stg_shop__order_status_changes', 'status_at'),
    ('stg_shop__return_lines', 'returned_at'),
    ('stg_shop__payments', 'paid_at'),
    ('stg_shop__inventory_movements', 'moved_at'),
    ('stg_shop__web_events', 'occurred_at'),
] %}

event_days as (
    {%- for model, column in event_times %}
        select
            min(cast({{ column }} as date)) as first_day,
            max(cast({{ column }} as date)) as last_day
        from {{ ref(model) }}
        {%- if not loop.last %}
            union all
        {%- endif %}
    {%- endfor %}
),

order_days as (
    select
        min(first_day) as first_day,
        max(last_day) as last_day
    from event_days
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
        cast(extract(year from date_day) as integer) as year_number,
        cast(extract(quarter from date_day) as integer) as quarter_number,
        cast(extract(month from date_day) as integer) as month_number,
        cast(extract(day from date_day) as integer) as day_of_month,
        cast({{ iso_day_of_week('date_day') }} as integer) as day_of_week,
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
{{ changed_rows_only() }}
