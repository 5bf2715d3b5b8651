-- Per customer and per product, in the snapshots (deletions included): versions
-- never overlap, a closed version ends where the next begins, and at most one
-- version is current. The dimensions are these versions without the deletions;
-- assert_scd2_one_current_version_per_key checks that every key still present
-- has exactly one current version there.
with

customer_versions as (
    select
        'customer' as dimension,
        customer_id as natural_key,
        dbt_valid_from as valid_from,
        dbt_valid_to as valid_to,
        dbt_valid_to is null as is_current
    from {{ ref('snp_shop__customers') }}
),

product_versions as (
    select
        'product' as dimension,
        product_id as natural_key,
        dbt_valid_from as valid_from,
        dbt_valid_to as valid_to,
        dbt_valid_to is null as is_current
    from {{ ref('snp_shop__products') }}
),

versions as (
    select * from customer_versions
    union all
    select * from product_versions
),

sequenced as (
    select
        *,
        lead(valid_from) over (
            partition by dimension, natural_key order by valid_from
        ) as next_valid_from,
        sum(case when is_current then 1 else 0 end) over (
            partition by dimension, natural_key
        ) as current_versions
    from versions
),

problems as (
    select
        dimension,
        natural_key,
        valid_from,
        case
            when valid_to is not null and valid_to <= valid_from then 'empty or inverted range'
            when next_valid_from is not null and valid_to is null then 'open version before another'
            when next_valid_from is not null and valid_to > next_valid_from then 'overlaps next'
            when next_valid_from is not null and valid_to < next_valid_from then 'gap before next'
            when current_versions > 1 then 'more than one current version'
        end as problem
    from sequenced
)

select * from problems
where problem is not null
