{#- Calendar helpers whose syntax differs between the engines. -#}

{#- One row (`date_day`) per day from `start_column` to `end_column` inclusive,
    both read from the one-row relation `bounds`. -#}
{% macro date_spine(bounds, start_column, end_column) -%}
    {{ return(adapter.dispatch('date_spine', 'snowcart')(bounds, start_column, end_column)) }}
{%- endmacro %}

{% macro default__date_spine(bounds, start_column, end_column) -%}
    {#- GENERATOR needs a constant row count: 100 years of days is the ceiling. -#}
    select cast(dateadd(day, day_offsets.day_offset, {{ bounds }}.{{ start_column }}) as date) as date_day
    from {{ bounds }}
    cross join (
        select row_number() over (order by seq4()) - 1 as day_offset
        from table(generator(rowcount => 36525))
    ) as day_offsets
    where
        dateadd(day, day_offsets.day_offset, {{ bounds }}.{{ start_column }})
        <= {{ bounds }}.{{ end_column }}
{%- endmacro %}

{% macro duckdb__date_spine(bounds, start_column, end_column) -%}
    select cast(unnest(generate_series(
        cast({{ start_column }} as timestamp),
        cast({{ end_column }} as timestamp),
        interval 1 day
    )) as date) as date_day
    from {{ bounds }}
{%- endmacro %}

{#- ISO day of week: 1 = Monday … 7 = Sunday. -#}
{% macro iso_day_of_week(date_expr) -%}
    {{ return(adapter.dispatch('iso_day_of_week', 'snowcart')(date_expr)) }}
{%- endmacro %}

{% macro default__iso_day_of_week(date_expr) -%}
    dayofweekiso({{ date_expr }})
{%- endmacro %}

{% macro duckdb__iso_day_of_week(date_expr) -%}
    isodow({{ date_expr }})
{%- endmacro %}

{#- Whole days from one timestamp to a later one. -#}
{% macro datediff_days(start_expr, end_expr) -%}
    {{ return(adapter.dispatch('datediff_days', 'snowcart')(start_expr, end_expr)) }}
{%- endmacro %}

{% macro default__datediff_days(start_expr, end_expr) -%}
    datediff(day, {{ start_expr }}, {{ end_expr }})
{%- endmacro %}

{% macro duckdb__datediff_days(start_expr, end_expr) -%}
    date_diff('day', {{ start_expr }}, {{ end_expr }})
{%- endmacro %}

{#- A timestamp as text to the microsecond, trailing zeros of the fraction
    dropped ('2026-03-01 12:00:00.0005', '2026-03-01 12:00:00'): the same text
    on both engines, for keys. A bare cast is not: Snowflake's follows the
    session's TIMESTAMP_OUTPUT_FORMAT (milliseconds by default), DuckDB's gives
    microseconds. -#}
{% macro timestamp_text(timestamp_expr) -%}
    {{ return(adapter.dispatch('timestamp_text', 'snowcart')(timestamp_expr)) }}
{%- endmacro %}

{% macro default__timestamp_text(timestamp_expr) -%}
    regexp_replace(to_char({{ timestamp_expr }}, 'YYYY-MM-DD HH24:MI:SS.FF6'), '[.]?0+$', '')
{%- endmacro %}

{% macro duckdb__timestamp_text(timestamp_expr) -%}
    regexp_replace(strftime({{ timestamp_expr }}, '%Y-%m-%d %H:%M:%S.%f'), '[.]?0+$', '')
{%- endmacro %}
