{#- Engine differences for semi-structured data. Models call these and never
    write engine-specific JSON syntax themselves. -#}

{#- The text of a JSON field as sent: a string without its quotes, a number,
    boolean, object or array as its JSON text; NULL when missing or JSON null.
    Staging types it with exact_cast (macros/engine/casts.sql) and keeps the
    text for the quarantine when it is not exactly a value of the type. -#}
{% macro json_text(json_expr, key) -%}
    {{ return(adapter.dispatch('json_text', 'snowcart')(json_expr, key)) }}
{%- endmacro %}

{% macro default__json_text(json_expr, key) -%}
    {{ json_expr }}:{{ key }}::varchar
{%- endmacro %}

{% macro duckdb__json_text(json_expr, key) -%}
    ({{ json_expr }} ->> '{{ key }}')
{%- endmacro %}

{#- A typed field of a JSON document; NULL when missing or not exactly a value
    of the type, so staging can route the row to quarantine instead of failing
    the build. -#}
{% macro json_field(json_expr, key, data_type) -%}
    {{ snowcart.exact_cast(snowcart.json_text(json_expr, key), data_type) }}
{%- endmacro %}

{#- A fingerprint of a whole JSON document: two copies of an event with the
    same fingerprint carry the same payload. -#}
{% macro json_fingerprint(json_expr) -%}
    {{ return(adapter.dispatch('json_fingerprint', 'snowcart')(json_expr)) }}
{%- endmacro %}

{% macro default__json_fingerprint(json_expr) -%}
    md5(to_json({{ json_expr }}))
{%- endmacro %}

{% macro duckdb__json_fingerprint(json_expr) -%}
    md5(cast({{ json_expr }} as varchar))
{%- endmacro %}

{#- A join clause producing one row per element of a JSON array, each element
    exposed as <alias>.value (its 1-based place: json_array_position(alias)).
    An event whose field is empty, missing or not an array still gives one row,
    with a NULL value and place: no event disappears in the flattening. -#}
{% macro join_json_array(json_expr, key, alias) -%}
    {{ return(adapter.dispatch('join_json_array', 'snowcart')(json_expr, key, alias)) }}
{%- endmacro %}

{% macro default__join_json_array(json_expr, key, alias) -%}
    cross join lateral flatten(
        input => {{ json_expr }}:{{ key }}, outer => true, mode => 'ARRAY'
    ) as {{ alias }}
{%- endmacro %}

{% macro duckdb__join_json_array(json_expr, key, alias) -%}
    left join unnest(json_extract({{ json_expr }}, '$.{{ key }}[*]'))
        with ordinality as {{ alias }} (value, position) on true
{%- endmacro %}

{% macro json_array_position(alias) -%}
    {{ return(adapter.dispatch('json_array_position', 'snowcart')(alias)) }}
{%- endmacro %}

{% macro default__json_array_position(alias) -%}
    ({{ alias }}.index + 1)
{%- endmacro %}

{% macro duckdb__json_array_position(alias) -%}
    {{ alias }}.position
{%- endmacro %}

{#- Portable type names used by the models (varchar, integer, bigint, double,
    boolean, money, timestamp, json), mapped to each engine's type. Money keeps
    four decimals: real price lists carry fractions of a cent. -#}
{% macro sql_type(data_type) -%}
    {{ return(adapter.dispatch('sql_type', 'snowcart')(data_type)) }}
{%- endmacro %}

{% macro default__sql_type(data_type) -%}
    {%- set types = {
        'money': 'number(38, 4)',
        'timestamp': 'timestamp_ntz',
        'json': 'variant',
    } -%}
    {{ types.get(data_type, data_type) }}
{%- endmacro %}

{% macro duckdb__sql_type(data_type) -%}
    {%- set types = {'money': 'decimal(38, 4)'} -%}
    {{ types.get(data_type, data_type) }}
{%- endmacro %}

{#- Number of elements of a JSON array field; NULL when it is not an array. -#}
{% macro json_array_size(json_expr, key) -%}
    {{ return(adapter.dispatch('json_array_size', 'snowcart')(json_expr, key)) }}
{%- endmacro %}

{% macro default__json_array_size(json_expr, key) -%}
    array_size({{ json_expr }}:{{ key }})
{%- endmacro %}

{% macro duckdb__json_array_size(json_expr, key) -%}
    case
        when json_type({{ json_expr }}, '$.{{ key }}') = 'ARRAY'
            then json_array_length({{ json_expr }}, '$.{{ key }}')
    end
{%- endmacro %}

{#- Why a landed line is no event, NULL when it is one: the embedded pipe's
    rules (snowcart/engines/duckdb/pipe.py), for the lines the Snowflake pipes
    land as text. A JSON object with a string event_id is an event; the rest
    is told apart in the pipe's order. `payload`: set when a pipe parsed the
    line itself (such a line is an event). -#}
{% macro line_load_error(payload, line) -%}
    {{ return(adapter.dispatch('line_load_error', 'snowcart')(payload, line)) }}
{%- endmacro %}

{% macro default__line_load_error(payload, line) -%}
    {%- set parsed = 'try_parse_json(' ~ line ~ ')' -%}
    case
        when {{ payload }} is not null then null
        when {{ line }} is null or trim({{ line }}) = '' then 'empty line'
        -- the lines file format replaces invalid UTF-8 with U+FFFD
        when contains({{ line }}, '\uFFFD') then 'invalid UTF-8'
        when {{ parsed }} is null then 'malformed JSON'
        when left(to_json({{ parsed }}), 1) != '{' then 'not a JSON object'
        when coalesce(to_json({{ parsed }}:event_id), 'null') = 'null'
            then 'missing required field event_id'
        when left(to_json({{ parsed }}:event_id), 1) != '"'
            then 'wrong type for event_id: ' || typeof({{ parsed }}:event_id)
    end
{%- endmacro %}

{#- The embedded pipe lands events only (it rejects the rest into
    ops.load_errors before they reach a landing table). -#}
{% macro duckdb__line_load_error(payload, line) -%}
    cast(null as varchar)
{%- endmacro %}
