{#- What an engine can do, for models and configs that exist on one engine only.
    Models ask these instead of testing `target.type`. -#}

{#- Snowflake materialized views (Enterprise Edition; macros/materializations/
    materialized_view.sql). DuckDB has none: the dynamic-table marts cover it. -#}
{% macro supports_materialized_views() -%}
    {{ return(adapter.dispatch('supports_materialized_views', 'snowcart')()) }}
{%- endmacro %}

{% macro default__supports_materialized_views() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro duckdb__supports_materialized_views() -%}
    {{ return(false) }}
{%- endmacro %}

{% macro snowflake__supports_materialized_views() -%}
    {{ return(true) }}
{%- endmacro %}
