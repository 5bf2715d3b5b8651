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

{#- Whether landing tables hold lines as text that staging parses (Snowflake's
    pipes), so the lines that are no event are a model (qrn_shop__unloadable_lines);
    the embedded pipe rejects them into ops.load_errors itself. -#}
{% macro lands_lines_as_text() -%}
    {{ return(adapter.dispatch('lands_lines_as_text', 'snowcart')()) }}
{%- endmacro %}

{% macro default__lands_lines_as_text() -%}
    {{ return(true) }}
{%- endmacro %}

{% macro duckdb__lands_lines_as_text() -%}
    {{ return(false) }}
{%- endmacro %}
