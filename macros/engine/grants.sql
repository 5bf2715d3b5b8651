{#- The marts' `grants` config (dbt_project.yml) gives the reporter role SELECT.
    Snowflake applies it with dbt's own apply_grants. DuckDB has no roles:
    readers get read-only connections to the serving layer instead, so the
    config is a no-op there (dbt-duckdb would warn on every mart). dbt looks up
    `<adapter>__apply_grants` in the root project first, so this replaces
    dbt-duckdb's implementation. -#}
{% macro duckdb__apply_grants(relation, grant_config, should_revoke=True) -%}
{%- endmacro %}
