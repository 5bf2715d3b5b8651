-- A monthly credit quota on the warehouse: notify at 90 %, suspend at 100 %,
-- suspend running queries too at 110 %.
CREATE RESOURCE MONITOR IF NOT EXISTS {monitor} WITH
  CREDIT_QUOTA = {credit_quota} FREQUENCY = MONTHLY START_TIMESTAMP = IMMEDIATELY
  TRIGGERS ON 90 PERCENT DO NOTIFY ON 100 PERCENT DO SUSPEND ON 110 PERCENT DO SUSPEND_IMMEDIATE;

ALTER WAREHOUSE {warehouse} SET RESOURCE_MONITOR = {monitor};
