-- setup.py --verify, as the reporter: reading a mart must work.
SELECT COUNT(*) FROM {mart};
