{{ valid_rows('base_shop__return_lines', extra_columns=['event_invalid_reason']) }}
