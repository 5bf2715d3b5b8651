{#- A stable surrogate key: md5 over the columns' text, '|'-separated, NULL as
    empty. The same on DuckDB and Snowflake, so keys agree across engines. -#}
{% macro surrogate_key(columns) -%}
    md5(
        {%- for column in columns %}
        coalesce(cast({{ column }} as varchar), '')
        {%- if not loop.last %} || '|' ||{% endif %}
        {%- endfor %}
    )
{%- endmacro %}

{#- Keys of the members every dimension carries besides its real rows: a fact
    row whose key has not arrived yet points at `unknown` (and is corrected when
    it arrives); one with no key at all (a guest checkout) at `not_applicable`. -#}
{% macro unknown_member_key() -%}'-1'{%- endmacro %}
{% macro not_applicable_member_key() -%}'-2'{%- endmacro %}

{#- Join condition: the SCD2 version of `dimension` valid at `at` (a fact older
    than a key's first version takes that version). -#}
{% macro version_valid_at(dimension, at) -%}
    ({{ at }} >= {{ dimension }}.valid_from or {{ dimension }}.is_first_version)
    and ({{ at }} < {{ dimension }}.valid_to or {{ dimension }}.valid_to is null)
{%- endmacro %}
