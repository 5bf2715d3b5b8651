{{
    config(
        unique_key='event_id',
        incremental_strategy='merge',
        cluster_by=['event_date'],
    )
}}

with

web_events as (
    -- On an incremental run, only what this model has not consumed yet.
    {{ unconsumed_valid_rows('stg_shop__web_events') }}
),

staged as (
    select
        ---------- keys
        event_id,
        session_id,
        customer_id,
        product_id,
        order_id,
        ---------- properties
        event_type,
        -- Position in the view → cart → checkout → purchase funnel.
        case event_type
            when 'page_view' then 1
            when 'add_to_cart' then 2
            when 'checkout' then 3
            when 'purchase' then 4
        end as funnel_step,
        ---------- timestamps
        occurred_at,
        cast(occurred_at as date) as event_date,
        ---------- load metadata
        _loaded_at
    from web_events
)

select * from staged
