{{ valid_rows('base_shop__order_lines', extra_columns=['event_invalid_reason']) }}
