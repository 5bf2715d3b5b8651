{{ config(unique_key='product_key') }}

-- One row per product version (SCD2, from the snapshot: price, cost and
-- category as they were; a deletion ends the version before it and is no
-- version itself), plus the unknown member fact rows point at until the
-- product arrives.
with

snapshot as (
    select * from {{ ref('snp_shop__products') }}
),

versions as (
    select
        ---------- keys
        {{ surrogate_key(['product_id', timestamp_text('dbt_valid_from')]) }} as product_key,
        product_id,
        ---------- properties
        product_name,
        category,
        unit_cost,
        list_price,
        initial_stock,
        ---------- validity
        dbt_valid_from as valid_from,
        dbt_valid_to as valid_to,
        dbt_valid_to is null as is_current,
        row_number() over (
            partition by product_id order by dbt_valid_from
        ) = 1 as is_first_version,
        ---------- load metadata
        _loaded_at
    from snapshot
    -- null on versions snapshotted before deletions were versions
    where not coalesce(is_deleted, false)
),

unknown_member as (
    select
        {{ unknown_member_key() }} as product_key,
        cast(null as varchar) as product_id,
        'Unknown product' as product_name,
        'unknown' as category,
        cast(null as {{ sql_type('money') }}) as unit_cost,
        cast(null as {{ sql_type('money') }}) as list_price,
        cast(null as integer) as initial_stock,
        cast('1900-01-01' as {{ sql_type('timestamp') }}) as valid_from,
        cast(null as {{ sql_type('timestamp') }}) as valid_to,
        true as is_current,
        true as is_first_version,
        cast(null as {{ sql_type('timestamp') }}) as _loaded_at
),

products as (
    select * from versions
    union all
    select * from unknown_member
)

select * from products
{{ changed_rows_only() }}
