-- setup.py --verify: its scratch database goes when the check ends, whatever happened.
DROP DATABASE IF EXISTS {database};
