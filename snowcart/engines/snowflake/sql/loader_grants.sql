-- The loader puts files on the stage and runs the pipes' COPY; nothing else.
GRANT USAGE ON WAREHOUSE {warehouse} TO ROLE {loader};
GRANT USAGE ON DATABASE {database} TO ROLE {loader};
GRANT USAGE ON SCHEMA {raw} TO ROLE {loader};
GRANT READ, WRITE ON STAGE {stage} TO ROLE {loader};
GRANT USAGE ON FILE FORMAT {file_format} TO ROLE {loader};
-- SELECT with INSERT: Snowpipe's REST API and VALIDATE() read the target table.
GRANT INSERT, SELECT ON ALL TABLES IN SCHEMA {raw} TO ROLE {loader};
GRANT INSERT, SELECT ON FUTURE TABLES IN SCHEMA {raw} TO ROLE {loader};
