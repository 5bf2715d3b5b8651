{#- Staging splits each base model (every deduplicated event, typed, with an
    `invalid_reason`) into the rows downstream models may use and the rows held
    back in quarantine. Nothing is filtered silently: each base row lands in
    exactly one of the two. -#}

{% macro valid_rows(base_model) -%}
    select * exclude (invalid_reason)
    from {{ ref(base_model) }}
    where invalid_reason is null
{%- endmacro %}

{% macro quarantined_rows(base_model) -%}
    select *
    from {{ ref(base_model) }}
    where invalid_reason is not null
{%- endmacro %}

{#- A timestamp no real event can carry: before the shop's epoch (2000) or more
    than a day after the load that brought it (clock skew beyond that is a bug
    upstream, not a late event). -#}
{% macro is_impossible_timestamp(column_name, loaded_at='_loaded_at') -%}
    (
        {{ column_name }} < cast('2000-01-01' as {{ snowcart.sql_type('timestamp') }})
        or {{ column_name }} > {{ loaded_at }} + interval '1 day'
    )
{%- endmacro %}
