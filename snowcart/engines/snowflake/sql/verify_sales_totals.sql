-- setup.py --verify: what fct_sales holds, against the batch's own totals (its ledger).
SELECT COUNT(DISTINCT order_id), COUNT(*), COALESCE(SUM(booked_revenue), 0) FROM {table};
