-- Lets Snowflake read the bucket prefix by assuming the IAM role.
CREATE STORAGE INTEGRATION IF NOT EXISTS {integration}
  TYPE = EXTERNAL_STAGE STORAGE_PROVIDER = 'S3' ENABLED = TRUE
  STORAGE_AWS_ROLE_ARN = {aws_role_arn}
  STORAGE_ALLOWED_LOCATIONS = ({url});

GRANT USAGE ON INTEGRATION {integration} TO ROLE {setup_role};
