-- The COPY a pipe runs (a fragment of pipe.sql and s3_pipe.sql): the columns of
-- macros/engine/landing_tables.sql, filled from the file metadata. Bad lines are
-- skipped (ON_ERROR = CONTINUE), visible through VALIDATE_PIPE_LOAD / COPY_HISTORY.
COPY INTO {table} (payload, _file_name, _file_row_number, _loaded_at)
    FROM (
      SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER,
        CONVERT_TIMEZONE('UTC', METADATA$START_SCAN_TIME)::TIMESTAMP_NTZ
      FROM @{stage}/{folder}/
    )
    FILE_FORMAT = (FORMAT_NAME = '{file_format}')
    ON_ERROR = CONTINUE
