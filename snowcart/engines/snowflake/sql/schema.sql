-- One per dbt custom schema (generate_schema_name uses them as-is), raw and ops.
CREATE SCHEMA IF NOT EXISTS {schema};
