{{
    config(
        unique_key=['_file_name', '_file_row_number', 'line_position'],
        pre_hook="{{ add_staged_column('event_invalid_reason') }}",
    )
}}

with

source as (
    select * from {{ stream_source('shop', 'orders') }}
),

-- One row per line; an event without lines keeps one row (line_position 0),
-- so the copy rule and the quarantine see every event.
flattened as (
    select
        source.payload,
        source._file_name,
        source._file_row_number,
        source._loaded_at,
        order_line.value as line,
        coalesce({{ json_array_position('order_line') }}, 0) as line_position
    from source
    {{ join_json_array('source.payload', 'lines', 'order_line') }}
),

renamed as (
    select
        ---------- ids
        {{ json_text('payload', 'event_id') }} as event_id,
        line_position,
        {{ json_text('payload', 'event_type') }} as event_type,
        {{ json_text('payload', 'order_id') }} as order_id,
        {{ json_text('line', 'line_number') }} as line_number_text,
        {{ json_text('payload', 'customer_id') }} as customer_id,
        {{ json_text('line', 'product_id') }} as product_id,
        ---------- properties
        {{ json_text('payload', 'ship_country') }} as ship_country,
        {{ json_text('payload', 'channel') }} as channel,
        {{ json_array_size('payload', 'lines') }} as line_count,
        ---------- amounts, as sent
        {{ json_text('line', 'quantity') }} as quantity_text,
        {{ json_text('line', 'unit_price') }} as unit_price_text,
        {{ json_text('line', 'discount_amount') }} as discount_amount_text,
        ---------- timestamps, as sent
        {{ json_text('payload', 'ordered_at') }} as ordered_at_text,
        {{ json_text('payload', 'event_at') }} as event_at_text,
        ---------- load metadata
        {{ json_fingerprint('payload') }} as _payload_hash,
        _file_name,
        _file_row_number,
        _loaded_at
    from flattened
),

typed as (
    select
        *,
        {{ exact_cast('line_number_text', 'integer') }} as line_number,
        {{ exact_cast('quantity_text', 'integer') }} as quantity,
        {{ exact_cast('unit_price_text', 'money') }} as unit_price,
        {{ exact_cast('discount_amount_text', 'money') }} as discount_amount,
        {{ exact_cast('ordered_at_text', 'timestamp') }} as ordered_at,
        {{ exact_cast('event_at_text', 'timestamp') }} as event_at
    from renamed
),

-- The first copy of each event wins, with all its lines (macros/staging.sql).
copies as (
    {{ deduplicated_copies('typed') }}
),

-- The order's own checks, the same as base_shop__orders makes.
checked as (
    select
        *,
        coalesce(
            copy_invalid_reason,
            case
                {{ order_event_checks() }}
            end
        ) as event_checked_reason
    from copies
),

order_claims as (
    {{ key_claims(
        'checked', 'order_id', 'event_checked_reason is null',
        'event_invalid_reason is null'
    ) }}
),

events_validated as (
    select
        checked.*,
        coalesce(
            checked.event_checked_reason,
            case
                when order_claims.claimed_by_event_id != checked.event_id
                    then 'duplicate_order_id'
            end
        ) as event_invalid_reason
    from checked
    left join order_claims on checked.order_id = order_claims.order_id
),

-- A line is valid when its order is and its own fields are. Quantity and
-- prices are bounded before any product is taken (macros/staging.sql).
validated as (
    select
        *,
        coalesce(
            event_invalid_reason,
            case
                when {{ is_blank('line_number_text') }} then 'missing_line_number'
                when line_number is null or line_number < 1 or line_number > {{ max_quantity() }}
                    then 'invalid_line_number'
                when {{ is_blank('product_id') }} then 'missing_product_id'
                when {{ is_blank('quantity_text') }} then 'missing_quantity'
                when not {{ is_exact('quantity_text', 'integer') }} then 'invalid_quantity'
                when quantity is null or quantity > {{ max_quantity() }}
                    then 'quantity_out_of_range'
                when quantity <= 0 then 'non_positive_quantity'
                when {{ is_blank('unit_price_text') }} then 'missing_unit_price'
                when not {{ is_exact('unit_price_text', 'money') }} then 'invalid_unit_price'
                when unit_price is null or unit_price > {{ max_unit_amount() }}
                    then 'unit_price_out_of_range'
                when unit_price < 0 then 'invalid_unit_price'
                when
                    discount_amount_text is not null
                    and (
                        discount_amount is null
                        or discount_amount < 0
                        or discount_amount > cast(quantity as decimal(38, 4)) * unit_price
                    )
                    then 'invalid_discount_amount'
            end,
            case
                when
                    row_number() over (
                        partition by _file_name, _file_row_number, line_number
                        order by line_position
                    ) > 1
                    then 'duplicate_line_number'
            end
        ) as invalid_reason
    from events_validated
),

keyed as (
    select
        event_id || '-' || cast(line_position as varchar) as event_line_id,
        order_id || '-' || cast(line_number as varchar) as order_line_id,
        event_id,
        line_position,
        event_type,
        order_id,
        line_number,
        customer_id,
        product_id,
        ship_country,
        quantity,
        unit_price,
        discount_amount,
        ordered_at,
        _file_name,
        _file_row_number,
        _loaded_at,
        invalid_reason,
        event_invalid_reason,
        case
            {{ order_event_invalid_values() }}
            when invalid_reason in ('invalid_line_number', 'duplicate_line_number')
                then line_number_text
            when invalid_reason in (
                'invalid_quantity', 'quantity_out_of_range', 'non_positive_quantity'
            ) then quantity_text
            when invalid_reason in ('invalid_unit_price', 'unit_price_out_of_range')
                then unit_price_text
            when invalid_reason = 'invalid_discount_amount' then discount_amount_text
        end as invalid_value,
        _payload_hash
    from validated
)

select * from keyed
