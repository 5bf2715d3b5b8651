{{ config(enabled=lands_lines_as_text()) }}

-- Every landed line that is no event, from every landing table, with the
-- reason the embedded pipe gives it in ops.load_errors (macro line_load_error).
{% for table_name in var('landing_tables') -%}
    {%- if not loop.first %}
    union all
    {% endif -%}
    select
        '{{ table_name }}' as table_name,
        _file_name,
        _file_row_number,
        _line as raw_line,
        {{ line_load_error('payload', '_line') }} as load_error_reason,
        _loaded_at
    from {{ source('shop', table_name) }}
    where {{ line_load_error('payload', '_line') }} is not null
{% endfor %}
