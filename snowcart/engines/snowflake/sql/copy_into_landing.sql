-- The COPY a pipe runs (a fragment of pipe.sql and s3_pipe.sql): the columns of
-- macros/engine/landing_tables.sql, filled from the file metadata. Each line
-- lands as text (the lines file format reads a line as one field, whatever it
-- holds), so ON_ERROR = CONTINUE skips no line that only COPY_HISTORY would
-- count: staging parses each one and keeps the ones that are no event, with
-- a reason (qrn_shop__unloadable_lines). VALIDATE_PIPE_LOAD cannot list them
-- instead: it refuses pipes whose COPY transforms, as this one does.
COPY INTO {table} (_line, _file_name, _file_row_number, _loaded_at)
    FROM (
      SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER,
        CONVERT_TIMEZONE('UTC', METADATA$START_SCAN_TIME)::TIMESTAMP_NTZ
      FROM @{stage}/{folder}/
    )
    FILE_FORMAT = (FORMAT_NAME = '{lines_format}')
    ON_ERROR = CONTINUE
