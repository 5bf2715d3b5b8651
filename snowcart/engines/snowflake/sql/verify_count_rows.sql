-- setup.py --verify: the lines a landing table holds, polled until the pipe landed them all.
SELECT COUNT(*) FROM {table};
