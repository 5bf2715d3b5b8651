{#- The COMMENT of a deployed dynamic table, as SHOW DYNAMIC TABLES returns it;
    none when the table is not listed (then it is replaced, as an edited one).
    In its own file: tests/python/test_snowflake_redeploy.py swaps it for a test
    double, fakesnow having no SHOW DYNAMIC TABLES. -#}
{% macro deployed_dynamic_table_comment(relation) -%}
    {%- set shown = run_query("show dynamic tables like '" ~ relation.identifier
        ~ "' in schema " ~ relation.include(identifier=false)) -%}
    {%- set columns = shown.column_names | map('lower') | list -%}
    {%- for row in shown.rows -%}
        {#- LIKE treats `_` as a wildcard: only the exact name counts. -#}
        {%- if row[columns.index('name')] | upper == relation.identifier | upper -%}
            {{- return(row[columns.index('comment')]) -}}
        {%- endif -%}
    {%- endfor -%}
    {{- return(none) -}}
{%- endmacro %}
