-- A manual refresh also refreshes the dynamic tables it reads, as of one time.
ALTER DYNAMIC TABLE {table} REFRESH;
