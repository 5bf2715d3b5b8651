-- The same columns as macros/engine/landing_tables.sql. The pipes land each
-- line as text in _line (payload stays NULL): staging parses it, and a line
-- that is no event is kept, with its reason, in qrn_shop__unloadable_lines.
CREATE TABLE IF NOT EXISTS {table} (
  payload VARIANT,
  _file_name VARCHAR,
  _file_row_number NUMBER,
  _loaded_at TIMESTAMP_NTZ,
  _line VARCHAR
);
-- A table created before lines landed as text gains the column.
ALTER TABLE {table} ADD COLUMN IF NOT EXISTS _line VARCHAR;
