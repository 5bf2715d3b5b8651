-- A condition of task.sql's WHEN (a fragment).
SYSTEM$STREAM_HAS_DATA('{stream}')
