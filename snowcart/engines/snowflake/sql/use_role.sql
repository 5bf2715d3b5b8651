-- Each group of setup statements runs under the role Snowflake requires for it.
USE ROLE {role};
