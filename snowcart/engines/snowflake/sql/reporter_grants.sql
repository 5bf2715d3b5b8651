-- The reporter reads the marts, present and future; never any write privilege.
GRANT USAGE ON WAREHOUSE {warehouse} TO ROLE {reporter};
GRANT USAGE ON DATABASE {database} TO ROLE {reporter};
GRANT USAGE ON SCHEMA {analytics} TO ROLE {reporter};
GRANT SELECT ON ALL TABLES IN SCHEMA {analytics} TO ROLE {reporter};
GRANT SELECT ON FUTURE TABLES IN SCHEMA {analytics} TO ROLE {reporter};
GRANT SELECT ON ALL VIEWS IN SCHEMA {analytics} TO ROLE {reporter};
GRANT SELECT ON FUTURE VIEWS IN SCHEMA {analytics} TO ROLE {reporter};
GRANT SELECT ON ALL DYNAMIC TABLES IN SCHEMA {analytics} TO ROLE {reporter};
GRANT SELECT ON FUTURE DYNAMIC TABLES IN SCHEMA {analytics} TO ROLE {reporter};
