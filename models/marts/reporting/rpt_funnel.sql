-- Storefront sessions per day reaching each step of view → cart → checkout →
-- purchase, and the conversion between steps.
with

web_events as (
    select * from {{ ref('fct_web_events') }}
),

sessions as (
    select
        session_id,
        min(event_date) as session_date,
        max(funnel_step) as deepest_step
    from web_events
    group by session_id
),

per_day as (
    select
        session_date,
        count(*) as session_count,
        cast(sum(case when deepest_step >= 1 then 1 else 0 end) as bigint) as viewed_sessions,
        cast(sum(case when deepest_step >= 2 then 1 else 0 end) as bigint) as cart_sessions,
        cast(sum(case when deepest_step >= 3 then 1 else 0 end) as bigint) as checkout_sessions,
        cast(sum(case when deepest_step >= 4 then 1 else 0 end) as bigint) as purchase_sessions
    from sessions
    group by session_date
),

conversion as (
    select
        *,
        round(cast(cart_sessions as double) / nullif(viewed_sessions, 0), 4)
            as view_to_cart_rate,
        round(cast(checkout_sessions as double) / nullif(cart_sessions, 0), 4)
            as cart_to_checkout_rate,
        round(cast(purchase_sessions as double) / nullif(checkout_sessions, 0), 4)
            as checkout_to_purchase_rate,
        round(cast(purchase_sessions as double) / nullif(session_count, 0), 4)
            as session_conversion_rate
    from per_day
)

select * from conversion
