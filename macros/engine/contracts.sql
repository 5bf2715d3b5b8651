{#- Enforced contracts on the report marts. dbt checks a contract inside the
    table, view and incremental materializations only: dbt-snowflake's
    `dynamic_table` and the project's Snowflake `materialized_view` take no
    column list and ignore it.

    DuckDB: the project's dynamic_table materialization builds through
    create_table_as, which checks the contract and creates the declared columns.
    Snowflake: the reporting folder's pre-hook runs dbt's own check (the query's
    column names and types against the YAML) before the object is created or
    altered, so a public mart never changes shape under its readers. -#}
{% macro assert_contract_before_build() -%}
    {{ return(adapter.dispatch('assert_contract_before_build', 'snowcart')()) }}
{%- endmacro %}

{% macro default__assert_contract_before_build() -%}
    {%- if execute
        and config.get('materialized') in ['dynamic_table', 'materialized_view']
        and config.get('contract').enforced -%}
        {%- do get_assert_columns_equivalent(sql) -%}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__assert_contract_before_build() -%}
    {#- Checked by create_table_as inside the dynamic_table materialization. -#}
{%- endmacro %}
