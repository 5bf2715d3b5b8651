{{
    config(
        unique_key='return_line_id',
        incremental_strategy='merge',
        cluster_by=['return_date'],
        on_schema_change='append_new_columns',
    )
}}

-- The incremental branch reads what this model has not consumed of these:
-- depends_on: {{ ref('base_shop__return_lines') }}
-- depends_on: {{ ref('base_shop__order_lines') }}

with

return_lines as {{ inlined() }} (
    select * from {{ ref('stg_shop__return_lines') }}
),

order_lines as {{ inlined() }} (
    select * from {{ ref('stg_shop__order_lines') }}
),

{% if is_incremental() %}

-- Returns this model has not consumed yet, and older returns whose sale
-- arrived since (a late order: its refund now reduces the sale line instead
-- of its return date).
new_return_lines as (
    {{ unconsumed_valid_rows('stg_shop__return_lines', extra_columns=['event_invalid_reason']) }}
),

new_order_lines as (
    {{ unconsumed_valid_rows('stg_shop__order_lines', extra_columns=['event_invalid_reason']) }}
),

returns_in_scope as (
    select * from new_return_lines
    union
    select return_lines.*
    from return_lines
    where return_lines.order_id in (select new_order_lines.order_id from new_order_lines)
),

{% else %}

    returns_in_scope as (
        select * from return_lines
    ),

{% endif %}

-- The sale line a refund reduces: the first line of its order that sold the
-- product (the rule fct_sales applies to refund_amount).
sale_lines as (
    select
        order_lines.order_id,
        order_lines.product_id,
        order_lines.order_line_id,
        order_lines._loaded_at
    from order_lines
    where order_lines.order_id in (select returns_in_scope.order_id from returns_in_scope)
    qualify row_number() over (
        partition by order_lines.order_id, order_lines.product_id
        order by order_lines.line_number
    ) = 1
),

refunded as (
    select
        ---------- ids
        returns_in_scope.return_line_id,
        returns_in_scope.return_id,
        returns_in_scope.line_number,
        returns_in_scope.order_id,
        sale_lines.order_line_id,
        returns_in_scope.customer_id,
        returns_in_scope.product_id,
        ---------- properties
        returns_in_scope.ship_country,
        ---------- timestamps
        returns_in_scope.returned_at,
        cast(returns_in_scope.returned_at as date) as return_date,
        ---------- amounts
        returns_in_scope.quantity,
        returns_in_scope.unit_price,
        coalesce(
            returns_in_scope.refund_amount,
            cast(returns_in_scope.quantity * returns_in_scope.unit_price as {{ sql_type('money') }})
        ) as refund_amount,
        ---------- load metadata
        greatest(
            returns_in_scope._loaded_at,
            coalesce(sale_lines._loaded_at, returns_in_scope._loaded_at)
        ) as _loaded_at
    from returns_in_scope
    left join sale_lines
        on
            returns_in_scope.order_id = sale_lines.order_id
            and returns_in_scope.product_id = sale_lines.product_id
)

select * from refunded
