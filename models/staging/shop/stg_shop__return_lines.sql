{{ valid_rows('base_shop__return_lines') }}
