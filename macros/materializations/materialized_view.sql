{#- Snowflake materialized views (Enterprise Edition), which dbt-snowflake does
    not ship. Snowflake maintains the view itself as fct_sales changes; a view
    may read one table, with no joins, window functions or COUNT(DISTINCT). -#}
{% materialization materialized_view, adapter='snowflake' %}
    {%- set target_relation = this.incorporate(type='view') -%}
    {%- set grant_config = config.get('grants') -%}

    {{ run_hooks(pre_hooks) }}

    {% call statement('main') -%}
        create or replace materialized view {{ target_relation }}
        {%- if config.get('cluster_by') %}
            cluster by ({{ config.get('cluster_by') | join(', ') }})
        {%- endif %}
        as (
            {{ sql }}
        )
    {%- endcall %}

    {{ run_hooks(post_hooks) }}

    {% do apply_grants(target_relation, grant_config, should_revoke=true) %}
    {% do persist_docs(target_relation, model) %}

    {{ return({'relations': [target_relation]}) }}
{% endmaterialization %}
