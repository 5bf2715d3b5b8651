{#- Placed between a CTE's name and its body: `order_lines as {{ inlined() }} (...)`.
    DuckDB materializes a CTE that is referenced more than once; for an import
    CTE over a whole history that copies the history on every incremental run.
    Inlined, each reference scans only what its own filter keeps. Snowflake
    decides by itself and has no such syntax. -#}
{% macro inlined() -%}
    {{ return(adapter.dispatch('inlined', 'snowcart')()) }}
{%- endmacro %}

{% macro default__inlined() -%}{%- endmacro %}

{% macro duckdb__inlined() -%}not materialized{%- endmacro %}
