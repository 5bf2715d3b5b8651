-- Each schema dbt builds into.
GRANT USAGE, CREATE TABLE, CREATE VIEW, CREATE DYNAMIC TABLE ON SCHEMA {schema} TO ROLE {transformer};
