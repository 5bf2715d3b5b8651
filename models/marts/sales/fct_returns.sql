{{
    config(
        unique_key='return_line_id',
        incremental_strategy='merge',
        cluster_by=['return_date'],
        on_schema_change='append_new_columns',
    )
}}

with

return_lines as (
    select * from {{ ref('stg_shop__return_lines') }}
    {{ loaded_since_last_run() }}
),

refunded as (
    select
        ---------- ids
        return_line_id,
        return_id,
        line_number,
        order_id,
        customer_id,
        product_id,
        ---------- properties
        ship_country,
        ---------- timestamps
        returned_at,
        cast(returned_at as date) as return_date,
        ---------- amounts
        quantity,
        unit_price,
        coalesce(refund_amount, cast(quantity * unit_price as {{ sql_type('money') }}))
            as refund_amount,
        ---------- load metadata
        _loaded_at
    from return_lines
)

select * from refunded
