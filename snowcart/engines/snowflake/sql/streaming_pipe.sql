-- Snowpipe Streaming (high-performance architecture) into a landing table:
-- the Kafka loader (snowcart/engines/snowflake/kafka_streaming.py) appends one
-- row per record, keyed by the landing table's own column names, through one
-- channel per (topic, partition). Each record lands as text in _line, as the
-- file pipes land lines, so staging parses it and keeps the ones that are no
-- event in qrn_shop__unloadable_lines.
CREATE PIPE IF NOT EXISTS {pipe} AS
  COPY INTO {table} (_line, _file_name, _file_row_number, _loaded_at)
    FROM (
      SELECT $1:_line::VARCHAR, $1:_file_name::VARCHAR, $1:_file_row_number::NUMBER,
        $1:_loaded_at::TIMESTAMP_NTZ
      FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING'))
    );
