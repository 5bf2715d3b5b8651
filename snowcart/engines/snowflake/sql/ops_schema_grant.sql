-- The ops schema also holds the tasks and the dbt project objects they execute.
GRANT USAGE, CREATE TABLE, CREATE VIEW, CREATE DYNAMIC TABLE, CREATE TASK, CREATE DBT PROJECT ON SCHEMA {schema} TO ROLE {transformer};
