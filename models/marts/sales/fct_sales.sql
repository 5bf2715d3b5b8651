{{
    config(
        unique_key='order_line_id',
        incremental_strategy='merge',
        cluster_by=['order_date'],
        on_schema_change='append_new_columns',
    )
}}

-- The incremental branch reads what this model has not consumed of these:
-- depends_on: {{ ref('base_shop__order_lines') }}
-- depends_on: {{ ref('base_shop__order_status_changes') }}
-- depends_on: {{ ref('base_shop__return_lines') }}

with

order_lines as {{ inlined() }} (
    select * from {{ ref('stg_shop__order_lines') }}
),

status_changes as {{ inlined() }} (
    select * from {{ ref('stg_shop__order_status_changes') }}
),

return_lines as {{ inlined() }} (
    select * from {{ ref('stg_shop__return_lines') }}
),

customers as (
    select * from {{ ref('dim_customers') }}
),

products as (
    select * from {{ ref('dim_products') }}
),

ship_countries as (
    select * from {{ ref('int_ship_countries') }}
),

{% if is_incremental() %}

-- What this model has not consumed yet of each table it reads.
new_order_lines as (
    {{ unconsumed_valid_rows('stg_shop__order_lines', extra_columns=['event_invalid_reason']) }}
),

new_status_changes as (
    {{ unconsumed_valid_rows('stg_shop__order_status_changes') }}
),

new_return_lines as (
    {{ unconsumed_valid_rows('stg_shop__return_lines', extra_columns=['event_invalid_reason']) }}
),

new_customer_versions as (
    select * from {{ unconsumed('dim_customers') }}
),

new_product_versions as (
    select * from {{ unconsumed('dim_products') }}
),

-- Orders touched since the last run: new lines, a status change, a return, or
-- a customer or product version that changes which version a line points at
-- (this is how an unknown member is corrected when the dimension arrives).
changed_orders as (
    select new_order_lines.order_id from new_order_lines
    union
    select new_status_changes.order_id from new_status_changes
    union
    select new_return_lines.order_id from new_return_lines
    where new_return_lines.order_id is not null
    union
    select order_lines.order_id
    from order_lines
    inner join new_customer_versions
        on
            order_lines.customer_id = new_customer_versions.customer_id
            and (
                order_lines.ordered_at >= new_customer_versions.valid_from
                or new_customer_versions.is_first_version
            )
    union
    select order_lines.order_id
    from order_lines
    inner join new_product_versions
        on
            order_lines.product_id = new_product_versions.product_id
            and (
                order_lines.ordered_at >= new_product_versions.valid_from
                or new_product_versions.is_first_version
            )
),

lines_in_scope as (
    select order_lines.*
    from order_lines
    inner join changed_orders on order_lines.order_id = changed_orders.order_id
),

{% else %}

    lines_in_scope as (
        select * from order_lines
    ),

{% endif %}

orders_in_scope as (
    select distinct order_id from lines_in_scope
),

-- Status as of the newest status change (by when it happened, not when it
-- arrived: out-of-order delivery does not rewind an order).
latest_status as (
    select
        status_changes.order_id,
        status_changes.order_status,
        status_changes.status_at,
        status_changes._loaded_at
    from status_changes
    inner join orders_in_scope on status_changes.order_id = orders_in_scope.order_id
    qualify row_number() over (
        partition by status_changes.order_id
        order by status_changes.status_at desc, status_changes._loaded_at desc
    ) = 1
),

cancellations as (
    select
        status_changes.order_id,
        min(status_changes.status_at) as cancelled_at
    from status_changes
    inner join orders_in_scope on status_changes.order_id = orders_in_scope.order_id
    where status_changes.order_status = 'cancelled'
    group by status_changes.order_id
),

-- Returns offset the first line of their order that sold the product.
returns_per_product as (
    select
        return_lines.order_id,
        return_lines.product_id,
        sum(return_lines.quantity) as returned_quantity,
        sum(
            coalesce(
                return_lines.refund_amount,
                return_lines.quantity * return_lines.unit_price
            )
        ) as refund_amount,
        max(return_lines._loaded_at) as _loaded_at
    from return_lines
    inner join orders_in_scope on return_lines.order_id = orders_in_scope.order_id
    group by return_lines.order_id, return_lines.product_id
),

first_line_per_product as (
    select
        order_line_id,
        order_id,
        product_id
    from lines_in_scope
    qualify row_number() over (partition by order_id, product_id order by line_number) = 1
),

returns_per_line as (
    select
        first_line_per_product.order_line_id,
        returns_per_product.returned_quantity,
        returns_per_product.refund_amount,
        returns_per_product._loaded_at
    from returns_per_product
    inner join first_line_per_product
        on
            returns_per_product.order_id = first_line_per_product.order_id
            and returns_per_product.product_id = first_line_per_product.product_id
),

-- Point in time: the customer and product versions valid when the order was
-- placed (an order older than a key's first version takes that version).
keyed as (
    select
        lines_in_scope.*,
        case
            when lines_in_scope.customer_id is null then {{ not_applicable_member_key() }}
            else coalesce(customers.customer_key, {{ unknown_member_key() }})
        end as customer_key,
        coalesce(products.product_key, {{ unknown_member_key() }}) as product_key,
        products.unit_cost,
        customers._loaded_at as customer_loaded_at,
        products._loaded_at as product_loaded_at
    from lines_in_scope
    left join customers
        on
            lines_in_scope.customer_id = customers.customer_id
            and {{ version_valid_at('customers', 'lines_in_scope.ordered_at') }}
    left join products
        on
            lines_in_scope.product_id = products.product_id
            and {{ version_valid_at('products', 'lines_in_scope.ordered_at') }}
),

joined as (
    select
        keyed.*,
        coalesce(ship_countries.country_code, {{ unknown_member_key() }}) as ship_country_code,
        coalesce(latest_status.order_status, 'placed') as order_status,
        latest_status.status_at,
        cancellations.cancelled_at is not null as is_cancelled,
        cast(coalesce(returns_per_line.returned_quantity, 0) as integer) as returned_quantity,
        coalesce(returns_per_line.refund_amount, 0) as refund_amount,
        greatest(
            keyed._loaded_at,
            coalesce(latest_status._loaded_at, keyed._loaded_at),
            coalesce(returns_per_line._loaded_at, keyed._loaded_at),
            coalesce(keyed.customer_loaded_at, keyed._loaded_at),
            coalesce(keyed.product_loaded_at, keyed._loaded_at)
        ) as newest_loaded_at
    from keyed
    left join ship_countries on upper(keyed.ship_country) = ship_countries.spelling
    left join latest_status on keyed.order_id = latest_status.order_id
    left join cancellations on keyed.order_id = cancellations.order_id
    left join returns_per_line on keyed.order_line_id = returns_per_line.order_line_id
),

booked as (
    select
        *,
        cast(quantity * unit_price as {{ sql_type('money') }}) as gross_revenue,
        cast(coalesce(discount_amount, 0) as {{ sql_type('money') }}) as discount,
        cast(
            quantity * unit_price - coalesce(discount_amount, 0) as {{ sql_type('money') }}
        ) as booked_revenue,
        cast(
            case
                when is_cancelled then 0
                else greatest(quantity - returned_quantity, 0)
            end as integer
        ) as kept_quantity
    from joined
),

priced as (
    select
        ---------- keys
        order_line_id,
        order_id,
        line_number,
        customer_key,
        product_key,
        customer_id,
        product_id,
        ---------- properties
        ship_country,
        ship_country_code,
        order_status,
        is_cancelled,
        ---------- timestamps
        ordered_at,
        cast(ordered_at as date) as order_date,
        status_at,
        ---------- quantities
        quantity,
        returned_quantity,
        kept_quantity,
        ---------- amounts
        unit_price,
        unit_cost,
        gross_revenue,
        discount as discount_amount,
        booked_revenue,
        cast(case when is_cancelled then booked_revenue else 0 end as {{ sql_type('money') }})
            as cancelled_amount,
        cast(refund_amount as {{ sql_type('money') }}) as refund_amount,
        cast(
            booked_revenue
            - case when is_cancelled then booked_revenue else 0 end
            - refund_amount
            as {{ sql_type('money') }}
        ) as net_revenue,
        cast(unit_cost * kept_quantity as {{ sql_type('money') }}) as cost_amount,
        newest_loaded_at
    from booked
),

margins as (
    select
        * exclude (newest_loaded_at),
        cast(net_revenue - cost_amount as {{ sql_type('money') }}) as margin_amount,
        ---------- load metadata
        newest_loaded_at as _loaded_at
    from priced
)

select * from margins
