{#- Custom schemas are used as-is (raw, staging, analytics), not prefixed with
    the target schema: each environment has its own database or DuckDB file. -#}
{#- With var pr_schema (slim CI on Snowflake: scripts/pr_check.py --schema
    pr_123), every schema gets the suffix `_<pr_schema>`, so a pull request
    builds beside production, never over it (macros/pr_schemas.sql drops them). -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- set schema_name = target.schema if custom_schema_name is none else custom_schema_name | trim -%}
    {%- set pr_schema = var('pr_schema', none) -%}
    {%- if pr_schema -%}
        {{ schema_name }}_{{ pr_schema }}
    {%- else -%}
        {{ schema_name }}
    {%- endif -%}
{%- endmacro %}
