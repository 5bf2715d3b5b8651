-- Snowpipe Streaming into a named pipe needs OPERATE on it (with INSERT on the
-- table and USAGE on its database and schema, granted with the stage's).
GRANT OPERATE ON PIPE {pipe} TO ROLE {loader};
