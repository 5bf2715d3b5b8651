-- One per landing table and consuming model: a consuming DML moves the offset
-- for every reader of a stream.
CREATE STREAM IF NOT EXISTS {stream}
  ON TABLE {table} APPEND_ONLY = TRUE;
