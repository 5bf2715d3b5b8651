{{ config(unique_key='customer_key') }}

-- One row per customer version (SCD2, from the snapshot; a deletion ends the
-- version before it and is no version itself), plus the unknown and
-- not-applicable members fact rows point at until the customer arrives.
with

snapshot as (
    select * from {{ ref('snp_shop__customers') }}
),

versions as (
    select
        ---------- keys
        {{ surrogate_key(['customer_id', timestamp_text('dbt_valid_from')]) }} as customer_key,
        customer_id,
        ---------- properties
        customer_name,
        email,
        country_code,
        state_region,
        city,
        age_group,
        customer_segment,
        signed_up_at,
        ---------- validity
        dbt_valid_from as valid_from,
        dbt_valid_to as valid_to,
        dbt_valid_to is null as is_current,
        row_number() over (
            partition by customer_id order by dbt_valid_from
        ) = 1 as is_first_version,
        ---------- load metadata
        _loaded_at
    from snapshot
    -- null on versions snapshotted before deletions were versions
    where not coalesce(is_deleted, false)
),

member_names as (
    select
        {{ unknown_member_key() }} as member_key,
        'Unknown customer' as member_name
    union all
    select
        {{ not_applicable_member_key() }} as member_key,
        'Guest checkout' as member_name
),

special_members as (
    select
        member_key as customer_key,
        cast(null as varchar) as customer_id,
        member_name as customer_name,
        cast(null as varchar) as email,
        cast(null as varchar) as country_code,
        cast(null as varchar) as state_region,
        cast(null as varchar) as city,
        'unknown' as age_group,
        'unknown' as customer_segment,
        cast(null as {{ sql_type('timestamp') }}) as signed_up_at,
        cast('1900-01-01' as {{ sql_type('timestamp') }}) as valid_from,
        cast(null as {{ sql_type('timestamp') }}) as valid_to,
        true as is_current,
        true as is_first_version,
        cast(null as {{ sql_type('timestamp') }}) as _loaded_at
    from member_names
),

customers as (
    select * from versions
    union all
    select * from special_members
)

select * from customers
{{ changed_rows_only() }}
