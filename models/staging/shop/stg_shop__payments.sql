{{ valid_rows('base_shop__payments') }}
