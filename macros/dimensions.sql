{#- The tail of a dimension's final select: on an incremental run, only the rows
    that are new or differ from the table's (a version that was closed, a member
    renamed). The merge then writes just those, in place: on Snowflake the
    dynamic tables reading the dimension keep their change tracking and see
    only the rows that changed. Rows never leave a dimension (a deletion closes
    a version), so nothing needs deleting. -#}
{% macro changed_rows_only() -%}
    {%- if is_incremental() %}
except
select * from {{ this }}
    {%- endif %}
{%- endmacro %}
