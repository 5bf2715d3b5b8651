{#- Custom schemas are used as-is (raw, staging, analytics), not prefixed with
    the target schema: each environment has its own database or DuckDB file. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}
        {{ target.schema }}
    {%- else -%}
        {{ custom_schema_name | trim }}
    {%- endif -%}
{%- endmacro %}
