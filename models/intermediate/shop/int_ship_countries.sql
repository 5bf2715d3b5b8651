-- Every spelling of a ship-to country the sources use (ISO code, English name,
-- alias; case-insensitive) → its ISO code, so facts resolve a country with one
-- equality join.
with

countries as (
    select * from {{ ref('country_regions') }}
),

aliases as (
    select * from {{ ref('country_aliases') }}
),

spellings as (
    select
        upper(country_code) as spelling,
        country_code
    from countries
    union
    select
        upper(country_name) as spelling,
        country_code
    from countries
    union
    select
        upper(country_alias) as spelling,
        country_code
    from aliases
)

select * from spellings
