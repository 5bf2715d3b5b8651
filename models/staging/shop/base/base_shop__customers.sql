with

source as (
    select * from {{ stream_source('shop', 'customers') }}
),

renamed as (
    select
        ---------- ids
        {{ json_text('payload', 'event_id') }} as event_id,
        {{ json_text('payload', 'customer_id') }} as customer_id,
        ---------- properties
        {{ json_text('payload', 'event_type') }} as event_type,
        {{ json_text('payload', 'name') }} as customer_name,
        {{ json_text('payload', 'email') }} as email,
        {{ json_text('payload', 'country_code') }} as country_code,
        {{ json_text('payload', 'region') }} as state_region,
        {{ json_text('payload', 'city') }} as city,
        {{ json_text('payload', 'age_group') }} as age_group,
        {{ json_text('payload', 'segment') }} as customer_segment,
        ---------- timestamps, as sent
        {{ json_text('payload', 'signup_at') }} as signed_up_at_text,
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
        {{ exact_cast('signed_up_at_text', 'timestamp') }} as signed_up_at,
        {{ exact_cast('updated_at_text', 'timestamp') }} as updated_at
    from renamed
),

-- The first copy of each event wins (macros/staging.sql).
copies as (
    {{ deduplicated_copies('typed') }}
),

validated as (
    select
        *,
        coalesce(
            copy_invalid_reason,
            case
                when
                    event_type is null
                    or event_type not in (
                        'customer_created', 'customer_updated', 'customer_deleted'
                    )
                    then 'unknown_event_type'
                when {{ is_blank('customer_id') }} then 'missing_customer_id'
                when {{ is_blank('updated_at_text') }} then 'missing_updated_at'
                when updated_at is null then 'unparseable_updated_at'
                when {{ is_impossible_timestamp('updated_at') }} then 'impossible_updated_at'
                when signed_up_at_text is not null and signed_up_at is null
                    then 'unparseable_signed_up_at'
            end
        ) as invalid_reason
    from copies
),

explained as (
    select
        event_id,
        customer_id,
        event_type,
        customer_name,
        email,
        country_code,
        state_region,
        city,
        age_group,
        customer_segment,
        signed_up_at,
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
            when invalid_reason = 'unparseable_signed_up_at' then signed_up_at_text
        end as invalid_value,
        _payload_hash
    from validated
)

select * from explained
