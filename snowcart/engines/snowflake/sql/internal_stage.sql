-- NDJSON files, gzip or not, one event per line; the producer PUTs them on the stage.
CREATE FILE FORMAT IF NOT EXISTS {file_format}
  TYPE = JSON COMPRESSION = AUTO STRIP_OUTER_ARRAY = FALSE;

-- What the pipes read the same files with: each line one text field, kept as
-- sent (no quoting, escaping, trimming or NULL markers; an empty line stays),
-- invalid UTF-8 replaced by U+FFFD so the line lands and staging names it.
CREATE FILE FORMAT IF NOT EXISTS {lines_format}
  TYPE = CSV COMPRESSION = AUTO RECORD_DELIMITER = '\n' FIELD_DELIMITER = NONE
  FIELD_OPTIONALLY_ENCLOSED_BY = NONE ESCAPE = NONE ESCAPE_UNENCLOSED_FIELD = NONE
  NULL_IF = () EMPTY_FIELD_AS_NULL = FALSE SKIP_BLANK_LINES = FALSE TRIM_SPACE = FALSE
  ENCODING = 'UTF8' REPLACE_INVALID_CHARACTERS = TRUE;

CREATE STAGE IF NOT EXISTS {stage}
  FILE_FORMAT = (FORMAT_NAME = '{file_format}');
