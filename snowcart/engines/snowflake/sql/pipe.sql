-- Over the internal stage: the loader triggers it (REST insertFiles or ALTER PIPE ... REFRESH).
CREATE PIPE IF NOT EXISTS {pipe} AS
  {copy};
