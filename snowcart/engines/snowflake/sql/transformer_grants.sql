-- The transformer reads raw (tables and streams) and builds everything downstream.
GRANT USAGE ON WAREHOUSE {warehouse} TO ROLE {transformer};
GRANT USAGE ON DATABASE {database} TO ROLE {transformer};
GRANT USAGE ON SCHEMA {raw} TO ROLE {transformer};
GRANT SELECT ON ALL TABLES IN SCHEMA {raw} TO ROLE {transformer};
GRANT SELECT ON FUTURE TABLES IN SCHEMA {raw} TO ROLE {transformer};
GRANT SELECT ON ALL STREAMS IN SCHEMA {raw} TO ROLE {transformer};
GRANT SELECT ON FUTURE STREAMS IN SCHEMA {raw} TO ROLE {transformer};
