{{
    config(
        unique_key='order_line_id',
        incremental_strategy='merge',
        cluster_by=['order_date'],
        on_schema_change='append_new_columns',
    )
}}

with

order_lines as (
    select * from {{ ref('stg_shop__order_lines') }}
    {{ loaded_since_last_run() }}
),

priced as (
    select
        ---------- ids
        order_line_id,
        order_id,
        line_number,
        customer_id,
        product_id,
        ---------- properties
        ship_country,
        ---------- timestamps
        ordered_at,
        cast(ordered_at as date) as order_date,
        ---------- amounts
        quantity,
        unit_price,
        cast(quantity * unit_price as {{ sql_type('money') }}) as gross_revenue,
        coalesce(discount_amount, 0) as discount_amount,
        cast(
            quantity * unit_price - coalesce(discount_amount, 0)
            as {{ sql_type('money') }}
        ) as net_revenue,
        ---------- load metadata
        _loaded_at
    from order_lines
)

select * from priced
