{#- Staging splits each base model (every event a producer sent, typed, first
    copy of each event_id, with an `invalid_reason`) into the rows downstream
    models may use and the rows held back in quarantine. Nothing is filtered
    silently: each base row lands in exactly one of the two, and every data test
    on a staging model or downstream holds for any input, because each condition
    it asserts is a check here first. -#}

{#- Columns only the quarantine needs: why, the value as sent, and the payload
    fingerprint that tells a conflicting copy from a plain duplicate. -#}
{% macro quarantine_columns(extra=[]) -%}
    {{ return(['invalid_reason', 'invalid_value', '_payload_hash'] + extra) }}
{%- endmacro %}

{#- `relation`: some of the base model's rows instead of all of them (what a
    fact has not consumed yet, macro unconsumed_valid_rows). -#}
{% macro valid_rows(base_model, extra_columns=[], relation=none) -%}
    select * exclude ({{ snowcart.quarantine_columns(extra_columns) | join(', ') }})
    from {{ relation if relation is not none else ref(base_model) }}
    where invalid_reason is null
{%- endmacro %}

{% macro quarantined_rows(base_model) -%}
    select *
    from {{ ref(base_model) }}
    where invalid_reason is not null
{%- endmacro %}

{#- A timestamp no real event can carry: before the shop's epoch (2000) or more
    than a day after the load that brought it (clock skew beyond that is a bug
    upstream, not a late event). -#}
{% macro is_impossible_timestamp(column_name, loaded_at='_loaded_at') -%}
    (
        {{ column_name }} < cast('2000-01-01' as {{ snowcart.sql_type('timestamp') }})
        or {{ column_name }} > {{ loaded_at }} + interval '1 day'
    )
{%- endmacro %}

{#- Missing, or only blanks: an empty id is no id. -#}
{% macro is_blank(text_expr) -%}
    ({{ text_expr }} is null or trim({{ text_expr }}) = '')
{%- endmacro %}

{#- Bounds on what one event may carry, so no arithmetic downstream overflows
    money (18 digits, 4 decimals: below 10^14): a quantity times a unit price or
    cost stays below 10^13, ten times inside it. Beyond them an event is
    quarantined (<field>_out_of_range), not a failed run. -#}
{% macro max_quantity() -%}1000000{%- endmacro %}

{% macro max_unit_amount() -%}10000000{%- endmacro %}

{% macro max_amount() -%}10000000000000{%- endmacro %}

{#- Units on hand: fits a 32-bit integer, so both engines agree where it ends. -#}
{% macro max_stock() -%}1000000000{%- endmacro %}

{#- Pre-hook of the base models, one per column their SQL reads from the
    model's own table (the copies and keys staged earlier): added to a table
    that predates it, so the first run after an upgrade works (a first copy
    without a fingerprint counts as the same payload). A no-op otherwise. -#}
{% macro add_staged_column(column_name) -%}
    {%- if is_incremental() -%}
        alter table {{ this }} add column if not exists {{ column_name }} varchar
    {%- endif -%}
{%- endmacro %}

{#- Delivery is at least once, and a producer may re-send an event_id with
    another payload. One rule for every model reading an event: the first copy
    wins, where a copy staged by an earlier run comes before any in this run
    (whatever its _loaded_at), then by _loaded_at, file and line. A later copy
    with the same payload is a plain duplicate and dropped (counted by
    reconcile); one with another payload stays, quarantined as a
    conflicting_duplicate; an event without an event_id is never a copy of
    another, and is quarantined as missing_event_id.

    `relation` is a CTE with event_id, _payload_hash, _loaded_at, _file_name
    and _file_row_number (one row per event, or per line of it: every line of a
    copy goes the way of its copy). Adds `copy_invalid_reason`. -#}
{% macro deduplicated_copies(relation) -%}
    {%- set copy_columns = '_loaded_at, _file_name, _file_row_number' -%}
    select
        copies.*,
        case
            when {{ snowcart.is_blank('copies.event_id') }} then 'missing_event_id'
            when
                copies._file_name != first_copies._file_name
                or copies._file_row_number != first_copies._file_row_number
                then 'conflicting_duplicate'
        end as copy_invalid_reason
    from {{ relation }} as copies
    left join (
        select
            event_id,
            _payload_hash,
            _file_name,
            _file_row_number
        from (
            {%- if is_incremental() %}
                select
                    event_id,
                    _payload_hash,
                    {{ copy_columns }},
                    0 as copy_rank
                from {{ this }}
                where
                    coalesce(invalid_reason, '') != 'conflicting_duplicate'
                    and not {{ snowcart.is_blank('event_id') }}
                    and event_id in (select event_id from {{ relation }})
                union all
            {%- endif %}
            select
                event_id,
                _payload_hash,
                {{ copy_columns }},
                1 as copy_rank
            from {{ relation }}
            where not {{ snowcart.is_blank('event_id') }}
        ) as every_copy
        qualify row_number() over (
            partition by event_id
            order by copy_rank, {{ copy_columns }}
        ) = 1
    ) as first_copies
        on copies.event_id = first_copies.event_id
    -- A plain duplicate: another landing row with the first copy's payload
    -- (or a first copy staged before payloads were fingerprinted).
    where not coalesce(
        (copies._file_name != first_copies._file_name
            or copies._file_row_number != first_copies._file_row_number)
        and coalesce(copies._payload_hash = first_copies._payload_hash, true),
        false
    )
{%- endmacro %}

{#- A natural key belongs to one event: the first event (staged earlier, then
    by _loaded_at, file and line) among those `claims_when` holds for in
    `relation` and `claimed_when_staged` holds for in this model's table. Gives
    one row per key with the event_id that claimed it; another event with the
    same key is a duplicate (duplicate_<key>). -#}
{% macro key_claims(relation, key_column, claims_when, claimed_when_staged) -%}
    {%- set claim_columns = '_loaded_at, _file_name, _file_row_number' -%}
    select
        {{ key_column }},
        event_id as claimed_by_event_id
    from (
        {%- if is_incremental() %}
            select
                {{ key_column }},
                event_id,
                {{ claim_columns }},
                0 as claim_rank
            from {{ this }}
            where
                {{ claimed_when_staged }}
                and {{ key_column }} in (select {{ key_column }} from {{ relation }})
            union all
        {%- endif %}
        select
            {{ key_column }},
            event_id,
            {{ claim_columns }},
            1 as claim_rank
        from {{ relation }}
        where {{ claims_when }}
    ) as claims
    qualify row_number() over (
        partition by {{ key_column }}
        order by claim_rank, {{ claim_columns }}
    ) = 1
{%- endmacro %}

{#- The checks on an order-placed event as a whole, as `when … then '<reason>'`
    branches: base_shop__orders and base_shop__order_lines share them, so an
    order's lines are valid only with their header (the relationship test). -#}
{% macro order_event_checks() -%}
    when coalesce(event_type, '') != 'order_placed' then 'unknown_event_type'
    when {{ snowcart.is_blank('order_id') }} then 'missing_order_id'
    when {{ snowcart.is_blank('ordered_at_text') }} then 'missing_ordered_at'
    when ordered_at is null then 'unparseable_ordered_at'
    when {{ snowcart.is_impossible_timestamp('ordered_at') }} then 'impossible_ordered_at'
    when event_at_text is not null and event_at is null then 'unparseable_event_at'
    when channel not in ('web', 'mobile', 'marketplace') then 'unknown_channel'
    when coalesce(line_count, 0) = 0 then 'no_lines'
{%- endmacro %}

{#- The value as sent behind each reason of order_event_checks. -#}
{% macro order_event_invalid_values() -%}
    when invalid_reason in ('missing_event_id', 'conflicting_duplicate') then event_id
    when invalid_reason = 'unknown_event_type' then event_type
    when invalid_reason in ('unparseable_ordered_at', 'impossible_ordered_at') then ordered_at_text
    when invalid_reason = 'unparseable_event_at' then event_at_text
    when invalid_reason = 'unknown_channel' then channel
    when invalid_reason = 'duplicate_order_id' then order_id
{%- endmacro %}

{#- The checks on an order-returned event as a whole (every line goes with them). -#}
{% macro return_event_checks() -%}
    when coalesce(event_type, '') != 'order_returned' then 'unknown_event_type'
    when {{ snowcart.is_blank('return_id') }} then 'missing_return_id'
    when {{ snowcart.is_blank('returned_at_text') }} then 'missing_returned_at'
    when returned_at is null then 'unparseable_returned_at'
    when {{ snowcart.is_impossible_timestamp('returned_at') }} then 'impossible_returned_at'
    when coalesce(line_count, 0) = 0 then 'no_lines'
{%- endmacro %}

{% macro return_event_invalid_values() -%}
    when invalid_reason in ('missing_event_id', 'conflicting_duplicate') then event_id
    when invalid_reason = 'unknown_event_type' then event_type
    when invalid_reason in ('unparseable_returned_at', 'impossible_returned_at')
        then returned_at_text
    when invalid_reason = 'duplicate_return_id' then return_id
{%- endmacro %}
