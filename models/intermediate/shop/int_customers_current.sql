-- The newest valid version of every customer that still exists: the source of
-- the customers snapshot. A deleted customer drops out, and the snapshot
-- closes its last version (hard_deletes: invalidate).
with

customer_events as (
    select * from {{ ref('stg_shop__customers') }}
),

newest as (
    select * from customer_events
    qualify row_number() over (
        partition by customer_id
        order by updated_at desc, _loaded_at desc, event_id desc
    ) = 1
),

existing as (
    select
        customer_id,
        customer_name,
        email,
        country_code,
        state_region,
        city,
        age_group,
        customer_segment,
        signed_up_at,
        updated_at,
        _loaded_at
    from newest
    where event_type != 'customer_deleted'
)

select * from existing
