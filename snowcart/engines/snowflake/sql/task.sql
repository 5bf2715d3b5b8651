-- A triggered task (WHEN without SCHEDULE) that builds the models reading one
-- landing table and everything downstream with dbt Projects on Snowflake, on a
-- user-managed warehouse (dbt projects cannot run on serverless tasks). A task
-- lives in the schema of the dbt project object it executes. It leaves out the
-- tests tagged at_rest: they compare marts with the facts they lag behind by
-- up to their target lag, so they fail while data streams, and three failures
-- suspend the task (docs/snowflake.md: where the at_rest checks run).
CREATE TASK IF NOT EXISTS {task}
  WAREHOUSE = {warehouse}
  SUSPEND_TASK_AFTER_NUM_FAILURES = 3
  COMMENT = 'Snowcart: dbt build of the models reading {raw}.{table}'
  WHEN {when}
  AS EXECUTE DBT PROJECT {dbt_project}
    ARGS = 'build --select {selection} --exclude {exclusion} --target snowflake';
