{{ config(unique_key='event_line_id') }}

with

source as (
    select * from {{ stream_source('shop', 'returns') }}
),

flattened as (
    select
        source.payload,
        source._file_name,
        source._file_row_number,
        source._loaded_at,
        return_line.value as line,
        {{ json_array_position('return_line') }} as line_position
    from source
    {{ join_json_array('source.payload', 'lines', 'return_line') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
        line_position,
        {{ json_field('payload', 'event_type', 'varchar') }} as event_type,
        {{ json_field('payload', 'return_id', 'varchar') }} as return_id,
        {{ json_field('line', 'line_number', 'integer') }} as line_number,
        -- The sale being returned; null when it predates the data.
        coalesce(
            {{ json_field('line', 'order_id', 'varchar') }},
            {{ json_field('payload', 'order_id', 'varchar') }}
        ) as order_id,
        {{ json_field('payload', 'customer_id', 'varchar') }} as customer_id,
        {{ json_field('line', 'product_id', 'varchar') }} as product_id,
        ---------- properties
        {{ json_field('payload', 'ship_country', 'varchar') }} as ship_country,
        ---------- amounts
        {{ json_field('line', 'quantity', 'integer') }} as quantity,
        {{ json_field('line', 'unit_price', 'money') }} as unit_price,
        {{ json_field('line', 'refund_amount', 'money') }} as refund_amount,
        ---------- timestamps
        {{ json_field('payload', 'returned_at', 'timestamp') }} as returned_at,
        ---------- load metadata
        _file_name,
        _file_row_number,
        _loaded_at
    from flattened
),

with_keys as (
    select
        event_id || '-' || cast(line_position as varchar) as event_line_id,
        return_id || '-' || cast(line_number as varchar) as return_line_id,
        *,
        case
            when coalesce(event_type, '') != 'order_returned' then 'unknown_event_type'
            when return_id is null then 'missing_return_id'
            when line_number is null then 'missing_line_number'
            when product_id is null then 'missing_product_id'
            when returned_at is null then 'missing_returned_at'
            when {{ is_impossible_timestamp('returned_at') }} then 'impossible_returned_at'
            when quantity is null then 'missing_quantity'
            when quantity <= 0 then 'non_positive_quantity'
            when refund_amount < 0 then 'negative_refund_amount'
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
