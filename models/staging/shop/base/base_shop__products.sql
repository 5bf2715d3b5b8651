with

source as (
    select * from {{ stream_source('shop', 'products') }}
),

renamed as (
    select
        ---------- ids
        {{ json_text('payload', 'event_id') }} as event_id,
        {{ json_text('payload', 'product_id') }} as product_id,
        ---------- properties
        {{ json_text('payload', 'event_type') }} as event_type,
        {{ json_text('payload', 'name') }} as product_name,
        {{ json_text('payload', 'category') }} as category,
        ---------- amounts, as sent
        {{ json_text('payload', 'unit_cost') }} as unit_cost_text,
        {{ json_text('payload', 'list_price') }} as list_price_text,
        {{ json_text('payload', 'initial_stock') }} as initial_stock_text,
        ---------- timestamps, as sent
        {{ json_text('payload', 'updated_at') }} as updated_at_text,
        ---------- load metadata
        {{ json_fingerprint('payload') }} as _payload_hash,
        _file_name,
        _file_row_number,
        _loaded_at
    from source
),

typed as (
    select
        *,
        {{ exact_cast('unit_cost_text', 'money') }} as unit_cost,
        {{ exact_cast('list_price_text', 'money') }} as list_price,
        {{ exact_cast('initial_stock_text', 'integer') }} as initial_stock,
        {{ exact_cast('updated_at_text', 'timestamp') }} as updated_at
    from renamed
),

-- The first copy of each event wins (macros/staging.sql).
copies as (
    {{ deduplicated_copies('typed') }}
),

-- Cost, price and stock are optional (a deletion carries none); when sent they
-- must be exact and in range.
validated as (
    select
        *,
        coalesce(
            copy_invalid_reason,
            case
                when
                    event_type is null
                    or event_type not in ('product_created', 'product_updated', 'product_deleted')
                    then 'unknown_event_type'
                when {{ is_blank('product_id') }} then 'missing_product_id'
                when {{ is_blank('updated_at_text') }} then 'missing_updated_at'
                when updated_at is null then 'unparseable_updated_at'
                when {{ is_impossible_timestamp('updated_at') }} then 'impossible_updated_at'
                when unit_cost_text is not null and not {{ is_exact('unit_cost_text', 'money') }}
                    then 'invalid_unit_cost'
                when list_price_text is not null and not {{ is_exact('list_price_text', 'money') }}
                    then 'invalid_list_price'
                when
                    (unit_cost_text is not null and unit_cost is null)
                    or (list_price_text is not null and list_price is null)
                    or unit_cost > {{ max_unit_amount() }}
                    or list_price > {{ max_unit_amount() }}
                    then 'price_or_cost_out_of_range'
                when unit_cost < 0 or list_price < 0 then 'negative_price_or_cost'
                when
                    initial_stock_text is not null
                    and not {{ is_exact('initial_stock_text', 'integer') }}
                    then 'invalid_initial_stock'
                when
                    (initial_stock_text is not null and initial_stock is null)
                    or initial_stock < 0
                    or initial_stock > {{ max_stock() }}
                    then 'initial_stock_out_of_range'
            end
        ) as invalid_reason
    from copies
),

explained as (
    select
        event_id,
        product_id,
        event_type,
        product_name,
        category,
        unit_cost,
        list_price,
        initial_stock,
        updated_at,
        _file_name,
        _file_row_number,
        _loaded_at,
        invalid_reason,
        case
            when invalid_reason in ('missing_event_id', 'conflicting_duplicate') then event_id
            when invalid_reason = 'unknown_event_type' then event_type
            when invalid_reason in ('unparseable_updated_at', 'impossible_updated_at')
                then updated_at_text
            when invalid_reason = 'invalid_unit_cost' then unit_cost_text
            when invalid_reason = 'invalid_list_price' then list_price_text
            when invalid_reason in ('price_or_cost_out_of_range', 'negative_price_or_cost')
                then coalesce(unit_cost_text, '') || ' / ' || coalesce(list_price_text, '')
            when invalid_reason in ('invalid_initial_stock', 'initial_stock_out_of_range')
                then initial_stock_text
        end as invalid_value,
        _payload_hash
    from validated
)

select * from explained
