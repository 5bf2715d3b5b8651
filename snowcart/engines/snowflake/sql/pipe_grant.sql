-- The loader triggers each pipe and reads its status and load history.
GRANT OPERATE, MONITOR ON PIPE {pipe} TO ROLE {loader};
