with

source as (
    select * from {{ stream_source('shop', 'inventory') }}
),

renamed as (
    select
        ---------- ids
        {{ json_text('payload', 'event_id') }} as event_id,
        {{ json_text('payload', 'movement_id') }} as movement_id,
        {{ json_text('payload', 'product_id') }} as product_id,
        ---------- properties
        {{ json_text('payload', 'event_type') }} as event_type,
        {{ json_text('payload', 'movement_type') }} as movement_type,
        ---------- amounts, as sent
        {{ json_text('payload', 'quantity_delta') }} as quantity_delta_text,
        ---------- timestamps, as sent
        {{ json_text('payload', 'moved_at') }} as moved_at_text,
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
        {{ exact_cast('quantity_delta_text', 'integer') }} as quantity_delta,
        {{ exact_cast('moved_at_text', 'timestamp') }} as moved_at
    from renamed
),

-- The first copy of each event wins (macros/staging.sql).
copies as (
    {{ deduplicated_copies('typed') }}
),

checked as (
    select
        *,
        coalesce(
            copy_invalid_reason,
            case
                when coalesce(event_type, '') != 'inventory_movement' then 'unknown_event_type'
                when {{ is_blank('movement_id') }} then 'missing_movement_id'
                when {{ is_blank('product_id') }} then 'missing_product_id'
                when
                    movement_type is null
                    or movement_type not in ('restock', 'sale', 'return', 'adjustment')
                    then 'unknown_movement_type'
                when {{ is_blank('quantity_delta_text') }} then 'missing_quantity_delta'
                when not {{ is_exact('quantity_delta_text', 'integer') }}
                    then 'invalid_quantity_delta'
                when
                    quantity_delta is null
                    or abs(quantity_delta) > {{ max_quantity() }}
                    then 'quantity_delta_out_of_range'
                when {{ is_blank('moved_at_text') }} then 'missing_moved_at'
                when moved_at is null then 'unparseable_moved_at'
                when {{ is_impossible_timestamp('moved_at') }} then 'impossible_moved_at'
            end
        ) as checked_reason
    from copies
),

-- A movement happens once: the first valid event for a movement_id claims it.
movement_claims as (
    {{ key_claims('checked', 'movement_id', 'checked_reason is null', 'invalid_reason is null') }}
),

validated as (
    select
        checked.*,
        coalesce(
            checked.checked_reason,
            case
                when movement_claims.claimed_by_event_id != checked.event_id
                    then 'duplicate_movement_id'
            end
        ) as invalid_reason
    from checked
    left join movement_claims on checked.movement_id = movement_claims.movement_id
),

explained as (
    select
        event_id,
        movement_id,
        product_id,
        event_type,
        movement_type,
        quantity_delta,
        moved_at,
        _file_name,
        _file_row_number,
        _loaded_at,
        invalid_reason,
        case
            when invalid_reason in ('missing_event_id', 'conflicting_duplicate') then event_id
            when invalid_reason = 'unknown_event_type' then event_type
            when invalid_reason = 'unknown_movement_type' then movement_type
            when invalid_reason in ('invalid_quantity_delta', 'quantity_delta_out_of_range')
                then quantity_delta_text
            when invalid_reason in ('unparseable_moved_at', 'impossible_moved_at')
                then moved_at_text
            when invalid_reason = 'duplicate_movement_id' then movement_id
        end as invalid_value,
        _payload_hash
    from validated
)

select * from explained
