{#- Streams: what a model has not consumed yet from a landing table.

    Snowflake: one APPEND_ONLY stream per (landing table, consuming model),
    named <table>__<model> (scripts/setup.py creates them). The model's MERGE
    reads the stream through a temporary *view*, so the only statement that
    consumes it is the MERGE itself, and the offset moves when it commits.

    DuckDB: a consumer offset in ops.stream_offsets (the newest _loaded_at
    consumed). The model's post-hook advances it inside the model's own
    transaction, so it moves only when the consuming write commits.

    A full refresh (or first build) reads the whole landing table: a rebuild
    never loses data.

    The var `stream_consumers` (dbt_project.yml) lists the models reading each
    landing table's stream: setup creates the Snowflake streams from it, the
    base models' post-hook (advance_stream_offset) finds its table in it, and
    stream_source fails the parse when a model reads a stream it does not list. -#}

{% macro stream_name(table_name) -%}
    {{ table_name }}__{{ this.identifier }}
{%- endmacro %}

{#- The landing table whose stream `model_name` consumes, from var stream_consumers. -#}
{% macro stream_table_of(model_name) -%}
    {%- set tables = [] -%}
    {%- for table_name, consumers in var('stream_consumers').items() -%}
        {%- if model_name in consumers -%}{%- do tables.append(table_name) -%}{%- endif -%}
    {%- endfor -%}
    {%- if tables | length != 1 -%}
        {{ exceptions.raise_compiler_error(
            "var stream_consumers must list " ~ model_name
            ~ " under exactly one landing table; it does under " ~ (tables | join(', ') or 'none')) }}
    {%- endif -%}
    {{ return(tables[0]) }}
{%- endmacro %}

{% macro stream_source(source_name, table_name) -%}
    {#- Unit tests render the model under their own name; they read no stream. -#}
    {%- if model.resource_type == 'model' and snowcart.stream_table_of(model.name) != table_name -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " reads the stream of " ~ table_name ~ ": list it under var stream_consumers."
            ~ table_name ~ " (dbt_project.yml) instead of under "
            ~ snowcart.stream_table_of(model.name)) }}
    {%- endif -%}
    {#- A pull request's build (var pr_schema) never reads a stream: its MERGE
        would move production's offset and production would never build those
        rows. It reads the whole landing table; the merge on the unique key keeps
        every event once. -#}
    {%- if var('pr_schema', none) -%}
        {{ return(source(source_name, table_name)) }}
    {%- endif -%}
    {{ return(adapter.dispatch('stream_source', 'snowcart')(source_name, table_name)) }}
{%- endmacro %}

{% macro default__stream_source(source_name, table_name) -%}
    {%- set landing = source(source_name, table_name) -%}
    {%- if is_incremental() -%}
        (
            select payload, _file_name, _file_row_number, _loaded_at
            from {{ landing.database }}.{{ landing.schema }}.{{ snowcart.stream_name(table_name) }}
            where metadata$action = 'INSERT'
        )
    {%- else -%}
        {{ landing }}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__stream_source(source_name, table_name) -%}
    {%- set landing = source(source_name, table_name) -%}
    {%- if is_incremental() -%}
        (
            select * from {{ landing }}
            where _loaded_at > coalesce(
                (
                    select offset_loaded_at from ops.stream_offsets
                    where stream_name = '{{ snowcart.stream_name(table_name) }}'
                ),
                cast('1970-01-01' as timestamp)
            )
        )
    {%- else -%}
        {{ landing }}
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of a stream-reading model (the base folder's default in
    dbt_project.yml); the table is the one var stream_consumers lists it under. -#}
{% macro advance_stream_offset(source_name, table_name=none) -%}
    {%- set table_name = table_name or snowcart.stream_table_of(model.name) -%}
    {{ return(adapter.dispatch('advance_stream_offset', 'snowcart')(source_name, table_name)) }}
{%- endmacro %}

{% macro default__advance_stream_offset(source_name, table_name) -%}
    {#- Snowflake advances the stream itself when the MERGE commits. -#}
{%- endmacro %}

{% macro duckdb__advance_stream_offset(source_name, table_name) -%}
    insert into ops.stream_offsets (stream_name, table_name, offset_loaded_at, updated_at)
    select
        '{{ snowcart.stream_name(table_name) }}',
        '{{ table_name }}',
        max(_loaded_at),
        current_localtimestamp()
    from {{ source(source_name, table_name) }}
    having max(_loaded_at) is not null
    on conflict (stream_name) do update set
        offset_loaded_at = excluded.offset_loaded_at,
        updated_at = excluded.updated_at
{%- endmacro %}

{#- on-run-start: the table holding the embedded offsets. -#}
{% macro stream_offsets_ddl() -%}
    {{ return(adapter.dispatch('stream_offsets_ddl', 'snowcart')()) }}
{%- endmacro %}

{% macro default__stream_offsets_ddl() -%}
{%- endmacro %}

{% macro duckdb__stream_offsets_ddl() -%}
    create schema if not exists ops;
    create table if not exists ops.stream_offsets (
        stream_name varchar primary key,
        table_name varchar not null,
        offset_loaded_at timestamp not null,
        updated_at timestamp not null
    );
{%- endmacro %}
