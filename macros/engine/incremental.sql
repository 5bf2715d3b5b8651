{#- On an incremental run, keep only rows loaded after the newest row already in
    this model. Loads are serialised and stamped with their commit time, so
    `_loaded_at` only grows; a full refresh reads everything. -#}
{% macro loaded_since_last_run(loaded_at_column='_loaded_at') -%}
    {%- if is_incremental() %}
    where {{ loaded_at_column }} > (
        select coalesce(max({{ loaded_at_column }}), cast('1970-01-01' as {{ snowcart.sql_type('timestamp') }}))
        from {{ this }}
    )
    {%- endif -%}
{%- endmacro %}
