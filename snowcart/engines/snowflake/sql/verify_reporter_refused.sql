-- setup.py --verify, as the reporter: each of these must be refused.
CREATE TABLE {schema}.snowcart_verify_probe (probe INTEGER);
DELETE FROM {mart};
SELECT COUNT(*) FROM {landing_table};
