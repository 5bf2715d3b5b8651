-- The newest valid version of every product: the source of the products
-- snapshot. A deletion is a version too (is_deleted, at the deletion's own
-- time), so the snapshot closes the last version when the shop deleted it, not
-- when dbt noticed, and a product listed again follows without overlap. Equal
-- times keep the copy loaded first, as the snapshot (which needs a newer time).
with

product_events as (
    select * from {{ ref('stg_shop__products') }}
),

newest as (
    select * from product_events
    qualify row_number() over (
        partition by product_id
        order by updated_at desc, _loaded_at asc, event_id asc
    ) = 1
),

latest as (
    select
        product_id,
        product_name,
        category,
        unit_cost,
        list_price,
        initial_stock,
        event_type = 'product_deleted' as is_deleted,
        updated_at,
        _loaded_at
    from newest
)

select * from latest
