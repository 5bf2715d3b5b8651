{{ quarantined_rows('base_shop__web_events') }}
