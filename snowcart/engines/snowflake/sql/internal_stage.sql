-- NDJSON files, gzip or not, one event per line; the producer PUTs them on the stage.
CREATE FILE FORMAT IF NOT EXISTS {file_format}
  TYPE = JSON COMPRESSION = AUTO STRIP_OUTER_ARRAY = FALSE;

CREATE STAGE IF NOT EXISTS {stage}
  FILE_FORMAT = (FORMAT_NAME = '{file_format}');
