-- Over the external stage: fed by the bucket's event notifications (SQS).
CREATE PIPE IF NOT EXISTS {pipe} AUTO_INGEST = TRUE AS
  {copy};
