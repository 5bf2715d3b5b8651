{#- Redeploying an edited dynamic table on Snowflake. dbt-snowflake 1.11 compares
    only the config of a deployed dynamic table with the model's: an edited query
    under an unchanged config is skipped ("No configuration changes were
    identified") and the old query stays live (dbt-labs/dbt-adapters#725).

    Here the dynamic table carries the md5 of its compiled SQL in its COMMENT
    (CREATE DYNAMIC TABLE ... COMMENT = '...', returned by SHOW DYNAMIC TABLES).
    A run whose compiled SQL has another md5 replaces the table (CREATE OR REPLACE:
    Snowflake reinitializes it, a full recompute); with the same md5 the run does
    what dbt-snowflake does (ALTER for a config change, else nothing).

    The macros below override, for dbt-snowflake's own `dynamic_table`
    materialization, helpers it calls by name (a root-project macro wins over the
    adapter's; `dbt.<name>` is still the adapter's). The DuckDB materialization
    (dynamic_table.sql) calls none of them. -#}

{#- Which statement the build runs. Only an existing dynamic table whose compiled
    SQL changed takes a new path; everything else is dbt-snowflake's decision. -#}
{% macro dynamic_table_get_build_sql(existing_relation, target_relation) -%}
    {%- if existing_relation is none or should_full_refresh()
        or not existing_relation.is_dynamic_table
        or not snowcart.dynamic_table_is_fingerprinted() -%}
        {#- Create, full refresh, another kind of object, or an Iceberg table. -#}
        {{- return(dbt.dynamic_table_get_build_sql(existing_relation, target_relation)) -}}
    {%- endif -%}

    {%- set deployed_md5 = snowcart.fingerprint_in_comment(
        snowcart.deployed_dynamic_table_comment(existing_relation)) -%}
    {%- set compiled_md5 = local_md5(sql) -%}
    {%- if deployed_md5 == compiled_md5 -%}
        {{- return(dbt.dynamic_table_get_build_sql(existing_relation, target_relation)) -}}
    {%- endif -%}

    {#- A query change is a change that needs a full refresh: on_configuration_change
        governs it as it does a refresh_mode change. A table deployed before it
        carried a fingerprint (deployed_md5 none) is replaced once. -#}
    {%- set change = "compiled SQL of `" ~ target_relation ~ "` changed (deployed md5 "
        ~ (deployed_md5 or "none") ~ ", now " ~ compiled_md5 ~ ")" -%}
    {%- set on_configuration_change = config.get('on_configuration_change') -%}
    {%- if on_configuration_change == 'continue' -%}
        {%- do exceptions.warn("The " ~ change ~ " and `on_configuration_change` is"
            ~ " `continue`: the deployed query stays live.") -%}
        {{- return('') -}}
    {%- elif on_configuration_change == 'fail' -%}
        {%- do exceptions.raise_fail_fast_error("The " ~ change
            ~ " and `on_configuration_change` is `fail`.") -%}
    {%- elif on_configuration_change != 'apply' -%}
        {%- do exceptions.raise_compiler_error(
            "Unexpected configuration scenario: `" ~ on_configuration_change ~ "`") -%}
    {%- endif -%}
    {%- do log("Applying REPLACE to: " ~ target_relation ~ ": the " ~ change, info=true) -%}
    {{- return(get_replace_sql(existing_relation, target_relation, sql)) -}}
{%- endmacro %}

{#- dbt-snowflake's build (statement, grants, persist_docs). With persist_docs
    relation on, dbt has just set the COMMENT to the description alone: the
    description and the fingerprint are written back together. -#}
{% macro dynamic_table_execute_build_sql(build_sql, existing_relation, target_relation) -%}
    {%- do dbt.dynamic_table_execute_build_sql(build_sql, existing_relation, target_relation) -%}
    {%- if snowcart.dynamic_table_is_fingerprinted()
        and config.persist_relation_docs() and model.description -%}
        {%- do run_query(alter_relation_comment(target_relation, snowcart.dynamic_table_comment(sql))) -%}
    {%- endif -%}
{%- endmacro %}

{#- dbt-snowflake's CREATE and CREATE OR REPLACE DYNAMIC TABLE, with the COMMENT. -#}
{% macro snowflake__create_dynamic_table_info_schema_sql(dynamic_table, relation, sql) -%}
    {{- snowcart.dynamic_table_ddl_with_comment(
        dbt.snowflake__create_dynamic_table_info_schema_sql(dynamic_table, relation, sql), sql) -}}
{%- endmacro %}

{% macro snowflake__replace_dynamic_table_info_schema_sql(dynamic_table, relation, sql) -%}
    {{- snowcart.dynamic_table_ddl_with_comment(
        dbt.snowflake__replace_dynamic_table_info_schema_sql(dynamic_table, relation, sql), sql) -}}
{%- endmacro %}

{#- dbt-snowflake's DDL has no comment option: the clause goes before the
    `as (` that opens the query, so every option dbt renders, now or in a later
    version, stays. A DDL of another shape fails the build instead of deploying a
    table without its fingerprint (which every later run would replace). -#}
{% macro dynamic_table_ddl_with_comment(ddl, sql) -%}
    {%- set query_at = ddl.rfind(sql) -%}
    {%- set head = ddl[:query_at].rstrip() -%}
    {%- if query_at < 0 or not head.lower().endswith('as (') -%}
        {%- do exceptions.raise_compiler_error("dbt-snowflake's DDL for " ~ this
            ~ " does not end in `as (<compiled SQL>)`: no place for its COMMENT") -%}
    {%- endif -%}
    {%- set comment = snowcart.dynamic_table_comment(sql) | replace('$', '[$]') -%}
    {{- return(head[:-4].rstrip() ~ "\n    comment = $$" ~ comment ~ "$$\n    as (\n        "
        ~ ddl[query_at:]) -}}
{%- endmacro %}

{#- The COMMENT of the model's dynamic table: its description when persist_docs
    relation is on (what dbt would write), then the fingerprint of its compiled SQL. -#}
{% macro dynamic_table_comment(sql) -%}
    {%- set fingerprint = 'snowcart:compiled_sql_md5=' ~ local_md5(sql) -%}
    {%- if config.persist_relation_docs() and model.description -%}
        {{- return(model.description ~ ' ' ~ fingerprint) -}}
    {%- endif -%}
    {{- return(fingerprint) -}}
{%- endmacro %}

{#- The md5 a dynamic table's COMMENT carries, none without one (the last one if
    a description quotes another). -#}
{% macro fingerprint_in_comment(comment) -%}
    {%- set found = modules.re.findall('snowcart:compiled_sql_md5=([0-9a-f]{32})', comment or '') -%}
    {{- return(found[-1] if found else none) -}}
{%- endmacro %}

{#- Iceberg dynamic tables keep dbt-snowflake's behaviour: their DDL is not
    given the COMMENT, so comparing fingerprints would replace them every run. -#}
{% macro dynamic_table_is_fingerprinted() -%}
    {{- return(adapter.build_catalog_relation(config.model).catalog_type == 'INFO_SCHEMA') -}}
{%- endmacro %}
