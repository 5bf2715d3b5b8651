{#- Exact casts of text as a producer sent it. A value is typed only when its
    text is exactly a value of the type: no rounding (3.7 is not a quantity), no
    other notations (0x10, 1e3, "12,50"), no dropped offsets (10:00+05:00 is
    05:00 UTC). Anything else is NULL, so staging can quarantine the row with the
    text as sent. The rules are written once here, over engine primitives
    (regular expressions, minutes added to a timestamp), so both engines accept
    exactly the same texts; a pattern is anchored on both ends and uses no
    backslash (Snowflake string literals would eat it). -#}

{% macro exact_cast(text_expr, data_type) -%}
    {%- if data_type in ('integer', 'bigint') -%}
        case
            when {{ snowcart.is_exact(text_expr, data_type) }}
                then try_cast(
                    {{ snowcart.regex_extract(text_expr, '^(-?[0-9]+)', 1) }}
                    as {{ snowcart.sql_type(data_type) }}
                )
        end
    {%- elif data_type == 'money' -%}
        case
            when {{ snowcart.is_exact(text_expr, data_type) }}
                then try_cast({{ text_expr }} as {{ snowcart.sql_type('money') }})
        end
    {%- elif data_type == 'timestamp' -%}
        {{ snowcart.utc_timestamp(text_expr) }}
    {%- elif data_type == 'varchar' -%}
        {{ text_expr }}
    {%- else -%}
        try_cast({{ text_expr }} as {{ snowcart.sql_type(data_type) }})
    {%- endif -%}
{%- endmacro %}

{#- Whether a text is written as an exact number of the type, whatever its size:
    a whole number (a zero fraction, as some JSON writers emit 3.0, is exact),
    or money with at most four decimals that are not zero. exact_cast of such a
    text is NULL only when the number is too large for the type: out of range,
    where any other NULL is not a number of the type at all. -#}
{% macro is_exact(text_expr, data_type) -%}
    {%- set patterns = {
        'integer': '^-?[0-9]+([.]0+)?$',
        'bigint': '^-?[0-9]+([.]0+)?$',
        'money': '^-?[0-9]+([.][0-9]{1,4}0*)?$',
    } -%}
    coalesce({{ snowcart.regex_matches(text_expr, patterns[data_type]) }}, false)
{%- endmacro %}

{#- An ISO 8601 date or date and time, as UTC: a time without an offset is UTC
    already, one with an offset is moved by it. Other notations (epoch numbers,
    month names) are NULL; so is an impossible date (02-30). -#}
{% macro utc_timestamp(text_expr) -%}
    {%- set date = '[0-9]{4}-[0-9]{2}-[0-9]{2}' -%}
    {%- set time = '[T ][0-9]{2}:[0-9]{2}:[0-9]{2}([.][0-9]{1,9})?' -%}
    {#- Z, or ±hh, ±hhmm, ±hh:mm up to ±18:00 (the widest offset there is). -#}
    {%- set offset = '(Z|[+-](0[0-9]|1[0-8])(:?[0-5][0-9])?)' -%}
    {%- set type = snowcart.sql_type('timestamp') -%}
    case
        when {{ snowcart.regex_matches(text_expr, '^' ~ date ~ '(' ~ time ~ ')?$') }}
            then try_cast({{ text_expr }} as {{ type }})
        when {{ snowcart.regex_matches(text_expr, '^' ~ date ~ time ~ offset ~ '$') }}
            then {{ snowcart.add_minutes(
                'try_cast(' ~ snowcart.regex_extract(text_expr, '^(' ~ date ~ time ~ ')', 1)
                ~ ' as ' ~ type ~ ')',
                '-' ~ snowcart.offset_minutes(text_expr)
            ) }}
    end
{%- endmacro %}

{#- Minutes east of UTC of the offset a time text ends with (Z, ±hh, ±hhmm,
    ±hh:mm); 0 for Z. -#}
{% macro offset_minutes(text_expr) -%}
    coalesce(
        case when {{ snowcart.regex_extract(text_expr, '([+-])[0-9]{2}(:?[0-9]{2})?$', 1) }} = '-'
            then -1 else 1 end
        * (
            try_cast({{ snowcart.regex_extract(text_expr, '[+-]([0-9]{2})(:?[0-9]{2})?$', 1) }}
                as integer) * 60
            + coalesce(
                try_cast({{ snowcart.regex_extract(text_expr, '[+-][0-9]{2}:?([0-9]{2})$', 1) }}
                    as integer),
                0
            )
        ),
        0
    )
{%- endmacro %}

{#- True when the whole text matches the pattern (anchor it: ^…$). -#}
{% macro regex_matches(text_expr, pattern) -%}
    {{ return(adapter.dispatch('regex_matches', 'snowcart')(text_expr, pattern)) }}
{%- endmacro %}

{% macro default__regex_matches(text_expr, pattern) -%}
    regexp_like({{ text_expr }}, '{{ pattern }}')
{%- endmacro %}

{% macro duckdb__regex_matches(text_expr, pattern) -%}
    regexp_full_match({{ text_expr }}, '{{ pattern }}')
{%- endmacro %}

{#- The text of a capture group of the first match; NULL when nothing matches. -#}
{% macro regex_extract(text_expr, pattern, group) -%}
    {{ return(adapter.dispatch('regex_extract', 'snowcart')(text_expr, pattern, group)) }}
{%- endmacro %}

{% macro default__regex_extract(text_expr, pattern, group) -%}
    regexp_substr({{ text_expr }}, '{{ pattern }}', 1, 1, 'e', {{ group }})
{%- endmacro %}

{% macro duckdb__regex_extract(text_expr, pattern, group) -%}
    nullif(regexp_extract({{ text_expr }}, '{{ pattern }}', {{ group }}), '')
{%- endmacro %}

{#- A timestamp moved by a whole number of minutes. -#}
{% macro add_minutes(timestamp_expr, minutes_expr) -%}
    {{ return(adapter.dispatch('add_minutes', 'snowcart')(timestamp_expr, minutes_expr)) }}
{%- endmacro %}

{% macro default__add_minutes(timestamp_expr, minutes_expr) -%}
    dateadd(minute, {{ minutes_expr }}, {{ timestamp_expr }})
{%- endmacro %}

{% macro duckdb__add_minutes(timestamp_expr, minutes_expr) -%}
    ({{ timestamp_expr }} + to_minutes(cast({{ minutes_expr }} as bigint)))
{%- endmacro %}
