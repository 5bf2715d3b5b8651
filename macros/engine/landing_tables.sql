{#- The landing (raw) tables the pipe loads into: one per stage folder, the
    event as a JSON document plus where and when it was loaded from, the same
    metadata Snowflake's COPY INTO captures (METADATA$FILENAME,
    METADATA$FILE_ROW_NUMBER, METADATA$START_SCAN_TIME), and `_line`: the
    Snowflake pipes land each line there as text, payload NULL, for staging to
    parse (stream_source), so a line that is no event is kept with a reason
    (qrn_shop__unloadable_lines); the embedded pipe parses lines itself, keeps
    those in ops.load_errors, and leaves `_line` NULL. Idempotent: never
    drops or alters an existing table. Run on-run-start and by setup
    (`dbt run-operation create_landing_tables`), with the stream offsets table.

    Only missing tables are created: on Snowflake, scripts/setup.py creates
    them as an admin, and the transformer role dbt runs as may not create
    anything in raw (an IF NOT EXISTS still needs the privilege there). -#}
{% macro create_landing_tables() -%}
    {%- if execute -%}
        {%- set ddl = snowcart.landing_tables_ddl() ~ snowcart.stream_offsets_ddl() -%}
        {#- Checking for the tables opens a transaction: always end it. -#}
        {% do run_query(ddl if ddl | trim else 'select 1') %}
        {% do adapter.commit() %}
    {%- endif -%}
{%- endmacro %}

{% macro landing_tables_ddl() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set raw_schema = var('raw_schema') -%}
    {%- set missing = [] -%}
    {%- for table_name in var('landing_tables') -%}
        {%- if adapter.get_relation(target.database, raw_schema, table_name) is none -%}
            {%- do missing.append(table_name) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- if missing -%}
    create schema if not exists {{ target.database }}.{{ raw_schema }};
    {% for table_name in missing -%}
    create table if not exists {{ target.database }}.{{ raw_schema }}.{{ table_name }} (
        payload {{ snowcart.sql_type('json') }},
        _file_name varchar,
        _file_row_number bigint,
        _loaded_at {{ snowcart.sql_type('timestamp') }},
        _line varchar
    );
    {% endfor -%}
    {%- endif -%}
{%- endmacro %}
