{#- Unit-test fixtures give a VARIANT column (the landing tables' payload) as
    JSON text. dbt-snowflake casts that text to a VARIANT *string*, on which
    `payload:field` finds nothing; parsed, the fixture is the object the pipe
    would have loaded, so the staging unit tests run on Snowflake as on DuckDB.
    Every other type goes to dbt-snowflake's own safe_cast. -#}
{% macro snowflake__safe_cast(field, type) -%}
    {%- if type | upper == 'VARIANT' -%}
        try_parse_json({{ field }})
    {%- else -%}
        {{ dbt.snowflake__safe_cast(field, type) }}
    {%- endif -%}
{%- endmacro %}
