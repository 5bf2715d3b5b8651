{{ valid_rows('base_shop__inventory_movements') }}
