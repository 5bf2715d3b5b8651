{{
    config(
        unique_key='movement_id',
        incremental_strategy='merge',
        cluster_by=['movement_date'],
    )
}}

with

movements as (
    -- On an incremental run, only what this model has not consumed yet.
    {{ unconsumed_valid_rows('stg_shop__inventory_movements') }}
),

signed as (
    select
        ---------- keys
        movement_id,
        product_id,
        ---------- properties
        movement_type,
        ---------- timestamps
        moved_at,
        cast(moved_at as date) as movement_date,
        ---------- quantities
        quantity_delta,
        greatest(quantity_delta, 0) as quantity_in,
        greatest(-quantity_delta, 0) as quantity_out,
        ---------- load metadata
        _loaded_at
    from movements
)

select * from signed
