-- The newest valid version of every customer: the source of the customers
-- snapshot. A deletion is a version too (is_deleted, at the deletion's own
-- time), so the snapshot closes the last version when the shop deleted it, not
-- when dbt noticed, and a customer created again follows without overlap. Equal
-- times keep the copy loaded first, as the snapshot (which needs a newer time).
with

customer_events as (
    select * from {{ ref('stg_shop__customers') }}
),

newest as (
    select * from customer_events
    qualify row_number() over (
        partition by customer_id
        order by updated_at desc, _loaded_at asc, event_id asc
    ) = 1
),

latest as (
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
        event_type = 'customer_deleted' as is_deleted,
        updated_at,
        _loaded_at
    from newest
)

select * from latest
