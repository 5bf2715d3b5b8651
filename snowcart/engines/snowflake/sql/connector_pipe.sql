-- For teams that run Kafka Connect: the Snowflake High Performance connector
-- streams a topic into the pipe named as its table. A row is the record's
-- JSON value with the connector's RECORD_METADATA beside it: the value lands
-- as text in _line, and the topic, partition and offset say where it came from,
-- as for the loader's own pipe. SYSDATE() is UTC, like the file pipes' times.
CREATE PIPE IF NOT EXISTS {pipe} AS
  COPY INTO {table} (_line, _file_name, _file_row_number, _loaded_at)
    FROM (
      SELECT TO_JSON(OBJECT_DELETE($1, 'RECORD_METADATA')),
        'kafka:' || $1:RECORD_METADATA.topic::VARCHAR || '/'
          || $1:RECORD_METADATA.partition::VARCHAR,
        $1:RECORD_METADATA.offset::NUMBER,
        SYSDATE()
      FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING'))
    );
