-- The hierarchy ends at SYSADMIN, so system administrators manage what the roles own.
CREATE ROLE IF NOT EXISTS {loader};
CREATE ROLE IF NOT EXISTS {transformer};
CREATE ROLE IF NOT EXISTS {reporter};
GRANT ROLE {loader} TO ROLE {sysadmin};
GRANT ROLE {transformer} TO ROLE {sysadmin};
GRANT ROLE {reporter} TO ROLE {sysadmin};
