{#- The embedded counterpart of a Snowflake dynamic table. dbt-snowflake's own
    `dynamic_table` materialization is used on Snowflake; on DuckDB the result is
    rebuilt into an intermediate table and swapped in inside one transaction, so
    a reader sees the old or the new content, never a half-built one.
    The lag has Snowflake's syntax ('<n> seconds|minutes|hours|days' or
    'downstream'); the pipeline's scheduler refreshes the model when it is due.
    `target_lag` is what Snowflake runs (60 s at least); the embedded engine
    refreshes on `meta.embedded_target_lag` when set, faster than Snowflake can.
    An enforced contract is checked by create_table_as, as for a table. -#}
{% materialization dynamic_table, adapter='duckdb' %}
    {%- set target_lag = (config.get('meta') or {}).get('embedded_target_lag')
        or config.get('target_lag') -%}
    {%- do snowcart.parse_target_lag(target_lag) -%}

    {%- set existing_relation = load_cached_relation(this) -%}
    {%- set target_relation = this.incorporate(type='table') -%}
    {%- set intermediate_relation = make_intermediate_relation(target_relation) -%}
    {%- set backup_relation = make_backup_relation(target_relation, 'table') -%}
    {%- set grant_config = config.get('grants') -%}

    {{ drop_relation_if_exists(load_cached_relation(intermediate_relation)) }}
    {{ drop_relation_if_exists(load_cached_relation(backup_relation)) }}

    {{ run_hooks(pre_hooks, inside_transaction=False) }}
    {{ run_hooks(pre_hooks, inside_transaction=True) }}

    {% call statement('main') -%}
        {{ create_table_as(False, intermediate_relation, sql) }}
    {%- endcall %}

    {% if existing_relation is not none %}
        {#- A view or table left by another materialization is replaced too. -#}
        {% set existing_relation = existing_relation.incorporate(type=existing_relation.type) %}
        {{ adapter.rename_relation(existing_relation, backup_relation.incorporate(type=existing_relation.type)) }}
    {% endif %}
    {{ adapter.rename_relation(intermediate_relation, target_relation) }}

    {{ run_hooks(post_hooks, inside_transaction=True) }}
    {{ adapter.commit() }}

    {% if existing_relation is not none %}
        {{ drop_relation_if_exists(backup_relation.incorporate(type=existing_relation.type)) }}
    {% endif %}
    {{ run_hooks(post_hooks, inside_transaction=False) }}

    {% do apply_grants(target_relation, grant_config, should_revoke=true) %}
    {% do persist_docs(target_relation, model) %}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}

{#- Seconds in a Snowflake target_lag, or none for 'downstream'. A bad value
    fails the build with a message instead of refreshing on a wrong schedule. -#}
{% macro parse_target_lag(target_lag) -%}
    {%- if target_lag is none -%}
        {{ exceptions.raise_compiler_error(
            "dynamic_table " ~ this ~ " needs a target_lag, e.g. '1 minute' or 'downstream'") }}
    {%- endif -%}
    {%- set lag = target_lag | string | trim | lower -%}
    {%- if lag == 'downstream' -%}
        {{ return(none) }}
    {%- endif -%}
    {%- set parts = lag.split() -%}
    {%- set units = {
        'second': 1, 'seconds': 1, 'minute': 60, 'minutes': 60,
        'hour': 3600, 'hours': 3600, 'day': 86400, 'days': 86400,
    } -%}
    {%- if parts | length != 2 or not parts[0].isdigit() or parts[1] not in units -%}
        {{ exceptions.raise_compiler_error(
            "dynamic_table " ~ this ~ ": target_lag '" ~ target_lag
            ~ "' is not '<n> seconds|minutes|hours|days' or 'downstream'") }}
    {%- endif -%}
    {{ return((parts[0] | int) * units[parts[1]]) }}
{%- endmacro %}
