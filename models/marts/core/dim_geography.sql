{{ config(unique_key='country_code') }}

-- Countries and the sales region each reports under (from the seed), plus an
-- unknown member for ship-to countries the seed does not list.
with

countries as (
    select * from {{ ref('country_regions') }}
),

geography as (
    select
        country_code,
        country_name,
        region
    from countries
    union all
    select
        {{ unknown_member_key() }} as country_code,
        'Unknown' as country_name,
        'Unknown' as region
)

select * from geography
{{ changed_rows_only() }}
