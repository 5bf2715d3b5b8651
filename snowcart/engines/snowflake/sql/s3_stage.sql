CREATE STAGE IF NOT EXISTS {stage}
  URL = {url} STORAGE_INTEGRATION = {integration}
  FILE_FORMAT = (FORMAT_NAME = '{file_format}');
