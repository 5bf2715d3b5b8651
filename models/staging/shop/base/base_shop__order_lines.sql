{{ config(unique_key='event_line_id') }}

with

source as (
    select * from {{ stream_source('shop', 'orders') }}
),

flattened as (
    select
        source.payload,
        source._file_name,
        source._file_row_number,
        source._loaded_at,
        order_line.value as line,
        {{ json_array_position('order_line') }} as line_position
    from source
    {{ join_json_array('source.payload', 'lines', 'order_line') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
        line_position,
        {{ json_field('payload', 'event_type', 'varchar') }} as event_type,
        {{ json_field('payload', 'order_id', 'varchar') }} as order_id,
        {{ json_field('line', 'line_number', 'integer') }} as line_number,
        {{ json_field('payload', 'customer_id', 'varchar') }} as customer_id,
        {{ json_field('line', 'product_id', 'varchar') }} as product_id,
        ---------- properties
        {{ json_field('payload', 'ship_country', 'varchar') }} as ship_country,
        ---------- amounts
        {{ json_field('line', 'quantity', 'integer') }} as quantity,
        {{ json_field('line', 'unit_price', 'money') }} as unit_price,
        {{ json_field('line', 'discount_amount', 'money') }} as discount_amount,
        ---------- timestamps
        {{ json_field('payload', 'ordered_at', 'timestamp') }} as ordered_at,
        ---------- load metadata
        _file_name,
        _file_row_number,
        _loaded_at
    from flattened
),

with_keys as (
    select
        event_id || '-' || cast(line_position as varchar) as event_line_id,
        order_id || '-' || cast(line_number as varchar) as order_line_id,
        *,
        case
            when coalesce(event_type, '') != 'order_placed' then 'unknown_event_type'
            when order_id is null then 'missing_order_id'
            when line_number is null then 'missing_line_number'
            when product_id is null then 'missing_product_id'
            when ordered_at is null then 'missing_ordered_at'
            when {{ is_impossible_timestamp('ordered_at') }} then 'impossible_ordered_at'
            when quantity is null then 'missing_quantity'
            when quantity <= 0 then 'non_positive_quantity'
            when unit_price is null or unit_price < 0 then 'invalid_unit_price'
            when discount_amount < 0 or discount_amount > quantity * unit_price
                then 'invalid_discount_amount'
        end as invalid_reason
    from renamed
),

-- Delivery is at least once: keep the first copy of each event's lines.
deduplicated as (
    select * from with_keys
    qualify row_number() over (
        partition by event_id, line_position
        order by _loaded_at, _file_name, _file_row_number
    ) = 1
)

select * from deduplicated
