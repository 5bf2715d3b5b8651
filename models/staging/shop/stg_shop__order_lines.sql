{{
    config(
        unique_key='order_line_id',
        post_hook="{{ advance_stream_offset('shop', 'orders') }}",
    )
}}

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
        order_line.value as line
    from source
    {{ join_json_array('source.payload', 'lines', 'order_line') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
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
        order_id || '-' || cast(line_number as varchar) as order_line_id,
        *
    from renamed
),

-- Delivery is at least once: keep the first copy of each event's lines.
deduplicated as (
    select * from with_keys
    qualify row_number() over (
        partition by event_id, line_number
        order by _loaded_at, _file_name, _file_row_number
    ) = 1
)

select * from deduplicated
