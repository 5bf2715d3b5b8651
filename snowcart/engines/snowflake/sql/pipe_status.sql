-- A fragment: a pipe's state as JSON text (executionState RUNNING, pendingFileCount, …).
SYSTEM$PIPE_STATUS('{pipe}')
