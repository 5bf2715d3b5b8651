-- An account-level privilege: only account administrators grant it.
GRANT EXECUTE TASK ON ACCOUNT TO ROLE {transformer};
