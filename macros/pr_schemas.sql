{#- Slim CI on Snowflake (scripts/pr_check.py --target snowflake --schema pr_123)
    builds a pull request's models into schemas of its own: with var
    pr_schema set, generate_schema_name appends `_<pr_schema>` to every schema
    (analytics_pr_123, staging_pr_123, ...). This drops them all afterwards.

    The schemas come from the project's own graph, parsed with the same
    pr_schema, and only those ending in `_<suffix>` are dropped: production's
    schemas (no suffix) are never touched. -#}
{% macro drop_pr_schemas(suffix) -%}
    {%- if not suffix or not modules.re.match('^[A-Za-z_][A-Za-z0-9_$]*$', suffix) -%}
        {{ exceptions.raise_compiler_error("drop_pr_schemas: suffix must be a plain identifier, got " ~ suffix) }}
    {%- endif -%}
    {%- if var('pr_schema', none) != suffix -%}
        {{ exceptions.raise_compiler_error("drop_pr_schemas: run with --vars '{pr_schema: " ~ suffix ~ "}' so the graph names the pull request's schemas") }}
    {%- endif -%}
    {%- set ending = ('_' ~ suffix) | lower -%}
    {%- set schemas = {} -%}
    {%- for node in graph.nodes.values() | list + graph.sources.values() | list -%}
        {%- if node.schema and (node.schema | lower).endswith(ending) -%}
            {%- do schemas.update({(node.database ~ '.' ~ node.schema) | lower: node}) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- for key in schemas | sort -%}
        {%- set node = schemas[key] -%}
        {%- set relation = api.Relation.create(database=node.database, schema=node.schema) -%}
        {% do log("drop schema " ~ relation, info=true) %}
        {% do adapter.drop_schema(relation) %}
    {%- endfor -%}
    {% do adapter.commit() %}
    {% do log("dropped " ~ (schemas | length) ~ " schemas ending in " ~ ending, info=true) %}
{%- endmacro %}
