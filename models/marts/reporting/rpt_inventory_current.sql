-- Stock on hand per product, days until it runs out at the last 28 days' sales
-- pace, and a reorder alert. "Now" is the newest movement in the data; with
-- less than 28 days of data the pace is over the days there are (a young home
-- would otherwise sell at a fraction of its real pace and never run out).
with

movements as (
    select * from {{ ref('fct_inventory_movements') }}
),

products as (
    select * from {{ ref('dim_products') }}
    where is_current and product_id is not null
),

as_of as (
    select
        max(moved_at) as newest_moved_at,
        least(
            28, greatest(1, {{ datediff_days('min(moved_at)', 'max(moved_at)') }})
        ) as pace_days
    from movements
),

per_product as (
    select
        movements.product_id,
        cast(sum(movements.quantity_delta) as bigint) as net_movement,
        cast(
            sum(
                case
                    when
                        movements.movement_type = 'sale'
                        and movements.moved_at > as_of.newest_moved_at - interval '28 days'
                        then movements.quantity_out
                    else 0
                end
            ) as bigint
        ) as units_sold_28_days,
        max(movements.moved_at) as last_moved_at
    from movements
    cross join as_of
    group by movements.product_id
),

stock as (
    select
        products.product_id,
        products.product_name,
        products.category,
        products.initial_stock + coalesce(per_product.net_movement, 0) as stock_on_hand,
        coalesce(per_product.units_sold_28_days, 0) as units_sold_28_days,
        round(
            coalesce(per_product.units_sold_28_days, 0) / cast(as_of.pace_days as double), 4
        ) as average_daily_units_sold,
        per_product.last_moved_at
    from products
    cross join as_of
    left join per_product on products.product_id = per_product.product_id
),

alerts as (
    select
        *,
        case
            when average_daily_units_sold > 0
                then round(greatest(stock_on_hand, 0) / average_daily_units_sold, 1)
        end as days_until_stockout,
        coalesce(stock_on_hand <= 0, false)
        or coalesce(stock_on_hand / nullif(average_daily_units_sold, 0) < 14, false)
            as needs_reorder
    from stock
)

select * from alerts
