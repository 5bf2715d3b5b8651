-- The same columns as macros/engine/landing_tables.sql.
CREATE TABLE IF NOT EXISTS {table} (
  payload VARIANT,
  _file_name VARCHAR,
  _file_row_number NUMBER,
  _loaded_at TIMESTAMP_NTZ
);
