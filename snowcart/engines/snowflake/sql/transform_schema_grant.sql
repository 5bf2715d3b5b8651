-- Each schema dbt builds into (streams: the facts consume base models and
-- dimensions through streams the models' post-hooks create).
GRANT USAGE, CREATE TABLE, CREATE VIEW, CREATE DYNAMIC TABLE, CREATE STREAM ON SCHEMA {schema} TO ROLE {transformer};
