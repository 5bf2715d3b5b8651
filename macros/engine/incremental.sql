{#- The newest `_loaded_at` already in this model, as a literal read when the
    model runs. A literal rather than a subquery: engines skip storage on
    constants only (DuckDB row-group zonemaps, Snowflake micro-partition
    pruning), and `_loaded_at` grows with every load, so an incremental run
    reads what arrived since, not the whole history. -#}
{% macro last_loaded_at(loaded_at_column='_loaded_at') -%}
    {%- set epoch = "cast('1970-01-01' as " ~ snowcart.sql_type('timestamp') ~ ")" -%}
    {%- if not execute -%}
        {{ return(epoch) }}
    {%- endif -%}
    {%- set newest = run_query(
        'select max(' ~ loaded_at_column ~ ') from ' ~ this
    ).columns[0].values()[0] -%}
    {%- if newest is none -%}
        {{ return(epoch) }}
    {%- endif -%}
    {{ return("cast('" ~ newest ~ "' as " ~ snowcart.sql_type('timestamp') ~ ")") }}
{%- endmacro %}

{#- On an incremental run, keep only rows loaded after the newest row already in
    this model. Loads are serialised and stamped with their commit time, so
    `_loaded_at` only grows; a full refresh reads everything. -#}
{% macro loaded_since_last_run(loaded_at_column='_loaded_at') -%}
    {%- if is_incremental() %}
    where {{ loaded_at_column }} > {{ snowcart.last_loaded_at(loaded_at_column) }}
    {%- endif -%}
{%- endmacro %}
