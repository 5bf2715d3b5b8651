-- The newest valid version of every product still sold: the source of the
-- products snapshot. A deleted product drops out, and the snapshot closes its
-- last version (hard_deletes: invalidate).
with

product_events as (
    select * from {{ ref('stg_shop__products') }}
),

newest as (
    select * from product_events
    qualify row_number() over (
        partition by product_id
        order by updated_at desc, _loaded_at desc, event_id desc
    ) = 1
),

existing as (
    select
        product_id,
        product_name,
        category,
        unit_cost,
        list_price,
        initial_stock,
        updated_at,
        _loaded_at
    from newest
    where event_type != 'product_deleted'
)

select * from existing
