with

source as (
    select * from {{ stream_source('shop', 'customers') }}
),

renamed as (
    select
        ---------- ids
        {{ json_field('payload', 'event_id', 'varchar') }} as event_id,
        {{ json_field('payload', 'customer_id', 'varchar') }} as customer_id,
        ---------- properties
        {{ json_field('payload', 'event_type', 'varchar') }} as event_type,
        {{ json_field('payload', 'name', 'varchar') }} as customer_name,
        {{ json_field('payload', 'email', 'varchar') }} as email,
        {{ json_field('payload', 'country_code', 'varchar') }} as country_code,
        {{ json_field('payload', 'region', 'varchar') }} as state_region,
        {{ json_field('payload', 'city', 'varchar') }} as city,
        {{ json_field('payload', 'age_group', 'varchar') }} as age_group,
        {{ json_field('payload', 'segment', 'varchar') }} as customer_segment,
        ---------- timestamps
        {{ json_field('payload', 'signup_at', 'timestamp') }} as signed_up_at,
        {{ json_field('payload', 'updated_at', 'timestamp') }} as updated_at,
        ---------- load metadata
        _file_name,
        _file_row_number,
        _loaded_at
    from source
),

validated as (
    select
        *,
        case
            when
                event_type is null
                or event_type not in ('customer_created', 'customer_updated', 'customer_deleted')
                then 'unknown_event_type'
            when customer_id is null then 'missing_customer_id'
            when updated_at is null then 'missing_updated_at'
            when {{ is_impossible_timestamp('updated_at') }} then 'impossible_updated_at'
        end as invalid_reason
    from renamed
),

-- Delivery is at least once: keep the first copy of each event.
deduplicated as (
    select * from validated
    qualify row_number() over (
        partition by event_id
        order by _loaded_at, _file_name, _file_row_number
    ) = 1
)

select * from deduplicated
