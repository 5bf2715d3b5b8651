{#- Streams: what a model has not consumed yet of a table another writer fills.

    Two kinds, one mechanism: base models consume the landing tables the pipe
    loads (var stream_consumers), and the incremental facts consume the base
    models and dimensions they read (var change_consumers). Each consumer reads
    exactly what has committed since its own last committed write, whatever
    the rows' `_loaded_at`: on Snowflake that stamp is METADATA$START_SCAN_TIME,
    and Snowpipe commits files in parallel and in no order, so a watermark on
    it skips a file that started early and committed late.

    Snowflake: one APPEND_ONLY stream per (table, consuming model), named
    <table>__<model>: scripts/setup.py creates those on landing tables, the
    model's own post-hook (create_change_streams) those on models. The
    consumer's MERGE reads the stream through a temporary *view*, so the only
    statement that consumes it is the MERGE itself, and the offset moves when
    it commits.

    DuckDB: a consumer offset in ops.stream_offsets, the highest `rowid`
    consumed. DuckDB numbers appended rows when their transaction commits, so
    rowid order is commit order (a load that began first and committed last
    gets the higher rowids); the tables consumed are only appended to (the
    landing tables, the base models' and dimensions' merges, which insert the
    rows a stream shows). The consumer's post-hook advances the offset inside
    its own transaction, so it moves only when the consuming write commits.

    A full refresh (or first build) of the consumer reads the whole table, and
    one of the consumed model resets its streams (its table is new): a rebuild
    never loses data; a consumer merging on its unique key reads a row twice
    at most, never counts it twice. A pull request's build never consumes. -#}

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
    {%- set from_stream = is_incremental() and not var('pr_schema', none) -%}
    {{ return(adapter.dispatch('stream_source', 'snowcart')(source_name, table_name, from_stream)) }}
{%- endmacro %}

{% macro default__stream_source(source_name, table_name, from_stream) -%}
    {%- set landing = source(source_name, table_name) -%}
    {%- set rows = (
        landing.database ~ '.' ~ landing.schema ~ '.' ~ snowcart.stream_name(table_name)
        if from_stream else landing
    ) -%}
    {#- The pipes land lines as text (`_line`): parsed here, and a line that is
        no event left to qrn_shop__unloadable_lines. `payload` is set on rows a
        pipe from before that loaded parsed. -#}
        (
            select
                coalesce(payload, try_parse_json(_line)) as payload,
                _file_name,
                _file_row_number,
                _loaded_at
            from {{ rows }}
            where
                {% if from_stream %}metadata$action = 'INSERT' and {% endif -%}
                {{ snowcart.line_load_error('payload', '_line') }} is null
        )
{%- endmacro %}

{% macro duckdb__stream_source(source_name, table_name, from_stream) -%}
    {%- set landing = source(source_name, table_name) -%}
    {#- `dbt build --empty` reads no row (and a limited relation has no rowid). -#}
    {%- if from_stream and landing.limit != 0 -%}
        (
            select * from {{ landing }}
            where rowid > {{ snowcart.consumed_rowid(snowcart.stream_name(table_name)) }}
        )
    {%- else -%}
        {{ landing }}
    {%- endif -%}
{%- endmacro %}

{#- DuckDB: the highest rowid `stream` has consumed (-1: none), as a literal
    read when the model runs. Only the consuming model moves it, after this
    read, so it can only be behind: rows read twice, never skipped. -#}
{% macro consumed_rowid(stream) -%}
    {%- if not execute -%}{{ return(-1) }}{%- endif -%}
    {%- set found = run_query(
        "select offset_rowid from ops.stream_offsets where stream_name = '" ~ stream ~ "'"
    ).columns[0].values() -%}
    {{ return(found[0] if found and found[0] is not none else -1) }}
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
    {{ snowcart.duckdb_offset_upsert(snowcart.stream_name(table_name), table_name, source(source_name, table_name)) }}
{%- endmacro %}

{#- DuckDB: move `stream`'s offset to the newest row of `relation` this
    transaction sees, which is what the consuming model read. -#}
{% macro duckdb_offset_upsert(stream, table_name, relation) -%}
    {#- An empty build (`dbt build --empty`) read nothing: it moves nothing. -#}
    {%- if relation.limit == 0 -%}{{ return('') }}{%- endif -%}
    insert into ops.stream_offsets (stream_name, table_name, offset_rowid, offset_loaded_at, updated_at)
    select
        '{{ stream }}',
        '{{ table_name }}',
        max(rowid),
        -- informational; a dimension's special members have none
        coalesce(max(_loaded_at), timestamp '1970-01-01'),
        current_localtimestamp()
    from {{ relation }}
    having max(rowid) is not null
    on conflict (stream_name) do update set
        offset_rowid = excluded.offset_rowid,
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
        offset_rowid bigint,
        offset_loaded_at timestamp not null,
        updated_at timestamp not null
    );
    {#- Offsets kept as `_loaded_at` before rowids: the same position, since
        the embedded pipe stamped its loads in commit order. -#}
    alter table ops.stream_offsets add column if not exists offset_rowid bigint;
    {% for table_name in var('landing_tables') -%}
    update ops.stream_offsets set offset_rowid = coalesce(
        (
            select max(rowid) from {{ target.database }}.{{ var('raw_schema') }}.{{ table_name }}
            where _loaded_at <= stream_offsets.offset_loaded_at
        ),
        -1
    )
    where table_name = '{{ table_name }}' and offset_rowid is null;
    {% endfor -%}
{%- endmacro %}

{#- Models consumed like landing tables: the incremental facts read only what
    they have not consumed of the base models and dimensions var
    change_consumers lists them under (same semantics as stream_source). -#}
{% macro unconsumed(model_name) -%}
    {%- set relation = ref(model_name) -%}
    {%- if model.resource_type == 'model'
        and model.name not in var('change_consumers', {}).get(model_name, []) -%}
        {{ exceptions.raise_compiler_error(
            model.name ~ " reads what it has not consumed of " ~ model_name
            ~ ": list it under var change_consumers." ~ model_name ~ " (dbt_project.yml)") }}
    {%- endif -%}
    {%- if not is_incremental() or var('pr_schema', none) or relation.limit == 0 -%}
        {{ return(relation) }}
    {%- endif -%}
    {{ return(adapter.dispatch('unconsumed', 'snowcart')(relation)) }}
{%- endmacro %}

{#- The valid rows (staging's rule) of the base model behind `staging_model`
    (stg_X is valid_rows of base_X) that this model has not consumed yet; the
    staging view itself on a full build. `extra_columns` as the staging model
    gives them to valid_rows. -#}
{% macro unconsumed_valid_rows(staging_model, extra_columns=[]) -%}
    {%- set staging = ref(staging_model) -%}
    {%- set base_model = staging_model.replace('stg_', 'base_', 1) -%}
    {%- set changes = snowcart.unconsumed(base_model) -%}
    {%- if not is_incremental() or var('pr_schema', none) -%}
        select * from {{ staging }}
    {%- else -%}
        {{ snowcart.valid_rows(base_model, extra_columns, relation=changes) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__unconsumed(relation) -%}
    {#- A stream adds METADATA$ columns: select the table's own. -#}
    {%- set columns = adapter.get_columns_in_relation(relation) | map(attribute='name') | join(', ') -%}
    (
        select {{ columns }}
        from {{ relation.database }}.{{ relation.schema }}.{{ relation.identifier }}__{{ this.identifier }}
        where metadata$action = 'INSERT'
    )
{%- endmacro %}

{% macro duckdb__unconsumed(relation) -%}
    (
        select * from {{ relation }}
        where rowid > {{ snowcart.consumed_rowid(relation.identifier ~ '__' ~ this.identifier) }}
    )
{%- endmacro %}

{#- The models var change_consumers lists as consumers of `model_name`. -#}
{% macro change_consumers_of(model_name) -%}
    {{ return(var('change_consumers', {}).get(model_name, [])) }}
{%- endmacro %}

{#- Post-hook of every consumed model (dbt_project.yml). Snowflake: one stream
    per consumer; a rebuilt table gets new ones (a stream on a replaced table
    is stale), and a new stream starts with the rows already there
    (SHOW_INITIAL_ROWS), so a consumer added to an existing table misses
    nothing. DuckDB: a rebuilt table numbers its rows from 0 again, so its
    consumers' offsets are dropped. -#}
{% macro create_change_streams() -%}
    {%- if snowcart.change_consumers_of(model.name) -%}
        {{ return(adapter.dispatch('create_change_streams', 'snowcart')(snowcart.change_consumers_of(model.name))) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__create_change_streams(consumers) -%}
    {#- The var change_streams: 'off' for the fakesnow test server, which has
        no streams (it runs first builds only, which read no stream). -#}
    {%- if var('change_streams', 'on') != 'off' -%}
    {%- for consumer in consumers %}
    create {{ 'stream if not exists' if is_incremental() else 'or replace stream' }}
        {{ this.database }}.{{ this.schema }}.{{ this.identifier }}__{{ consumer }}
        on table {{ this }} append_only = true show_initial_rows = true;
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}

{% macro duckdb__create_change_streams(consumers) -%}
    {%- if not is_incremental() -%}
    delete from ops.stream_offsets where table_name = '{{ this.identifier }}'
    {%- endif -%}
{%- endmacro %}

{#- Post-hook of the consuming facts: on DuckDB moves each offset to the newest
    row of each table the model consumes, inside its own transaction; nothing
    on Snowflake, whose MERGE consumes the streams. -#}
{% macro advance_change_offsets() -%}
    {{ return(adapter.dispatch('advance_change_offsets', 'snowcart')()) }}
{%- endmacro %}

{% macro default__advance_change_offsets() -%}
{%- endmacro %}

{% macro duckdb__advance_change_offsets() -%}
    {%- set statements = [] -%}
    {%- for model_name, consumers in var('change_consumers', {}).items() if model.name in consumers -%}
        {%- set upsert = snowcart.duckdb_offset_upsert(
            model_name ~ '__' ~ this.identifier, model_name, ref(model_name)) | trim -%}
        {%- if upsert -%}{%- do statements.append(upsert) -%}{%- endif -%}
    {%- endfor -%}
    {{ statements | join(';\n') }}
{%- endmacro %}
