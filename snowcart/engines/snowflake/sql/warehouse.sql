-- The smallest warehouse: suspended after 60 s idle, resumed by the next query.
CREATE WAREHOUSE IF NOT EXISTS {warehouse} WITH
  WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 60 AUTO_RESUME = TRUE
  INITIALLY_SUSPENDED = TRUE;
