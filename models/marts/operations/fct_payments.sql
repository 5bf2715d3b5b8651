{{
    config(
        unique_key='payment_id',
        incremental_strategy='merge',
        cluster_by=['payment_date'],
    )
}}

with

payments as (
    -- On an incremental run, only what this model has not consumed yet.
    {{ unconsumed_valid_rows('stg_shop__payments') }}
),

classified as (
    select
        ---------- keys
        payment_id,
        order_id,
        ---------- properties
        event_type,
        payment_method,
        payment_status,
        payment_status = 'authorized' as is_authorized,
        payment_status = 'failed' as is_failed,
        payment_status = 'refunded' as is_refund,
        ---------- timestamps
        paid_at,
        cast(paid_at as date) as payment_date,
        ---------- amounts
        amount,
        ---------- load metadata
        _loaded_at
    from payments
)

select * from classified
