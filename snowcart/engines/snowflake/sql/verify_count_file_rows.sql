-- setup.py --verify, S3: the lines one file of the scratch folder landed.
SELECT COUNT(*) FROM {table} WHERE _file_name = {file_name};
