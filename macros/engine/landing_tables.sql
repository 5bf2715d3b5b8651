{#- The landing (raw) tables the pipe loads into: one per stage folder, the
    event as a JSON document plus where and when it was loaded from, the same
    metadata Snowflake's COPY INTO captures (METADATA$FILENAME,
    METADATA$FILE_ROW_NUMBER, METADATA$START_SCAN_TIME). Idempotent: never
    drops or alters an existing table. Rendered on-run-start; run by setup
    through `dbt run-operation create_landing_tables`. -#}
{% macro create_landing_tables() -%}
    {% do run_query(snowcart.landing_tables_ddl()) %}
    {% do adapter.commit() %}
{%- endmacro %}

{% macro landing_tables_ddl() -%}
    {%- set raw_schema = var('raw_schema') -%}
    create schema if not exists {{ target.database }}.{{ raw_schema }};
    {% for table_name in var('landing_tables') -%}
    create table if not exists {{ target.database }}.{{ raw_schema }}.{{ table_name }} (
        payload {{ snowcart.sql_type('json') }},
        _file_name varchar,
        _file_row_number bigint,
        _loaded_at {{ snowcart.sql_type('timestamp') }}
    );
    {% endfor -%}
{%- endmacro %}
