"""The pipeline's health as the serving layer shows it: freshness per mart, the
refresh log and its errors, the recent event rate, the stage files the pipe
skipped, load errors and quarantined rows by table and reason, each stream
consumer's backlog, and an S3 stage's or a Kafka source's own state (DuckDB's ops tables; Snowflake has none, its dynamic tables
refresh themselves and its loads are in COPY_HISTORY)."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd

from snowcart.engines.base import MartQuery

REFRESH_LOG_ROWS = 50
SKIPPED_FILE_ROWS = 50
EVENT_RATE_WINDOW_S = 60
# What the embedded pipeline publishes and Snowflake keeps elsewhere.
EMBEDDED_ONLY_HEALTH = ("load errors", "quarantined rows", "stream backlog")


def pipeline_health(query: MartQuery, now: datetime) -> dict[str, object]:
    """Freshness per mart, the refresh log and its errors, jobs, events/s, and
    the skipped stage files (newest first; `skipped_files` counts them all)."""
    freshness = query(
        "select mart, published_at, newest_event_at, lag_s from ops.mart_freshness order by mart"
    )
    if not freshness.empty:
        freshness["published_s_ago"] = (now - freshness["published_at"]).dt.total_seconds()
    log = query(
        "select started_at, job, status, duration_s, rows_processed, newest_event_at,"
        " lag_s, error from ops.refresh_log"
        f" order by started_at desc limit {REFRESH_LOG_ROWS}"
    )
    errors = query(
        "select started_at, job, error from ops.refresh_log where status <> 'success'"
        f" order by started_at desc limit {REFRESH_LOG_ROWS}"
    )
    jobs = query(
        "select job, count(*) as runs,"
        " sum(case when status = 'success' then 0 else 1 end) as failures,"
        " avg(duration_s) as average_duration_s, max(started_at) as last_started_at"
        " from ops.refresh_log group by job order by job"
    )
    recent = query(
        "select sum(rows_processed) as rows_processed from ops.refresh_log"
        " where job = 'transform' and started_at >= ?",
        [now - timedelta(seconds=EVENT_RATE_WINDOW_S)],
    )
    skipped = query(
        "select file_name, reason, detected_at from ops.load_skips"
        f" order by detected_at desc, file_name limit {SKIPPED_FILE_ROWS}"
    )
    skipped_count = query("select count(*) as files from ops.load_skips")
    quality = query(
        "select kind, table_name, reason, row_count, newest_at, newest_example"
        " from ops.data_quality order by kind, table_name, row_count desc"
    )
    lag = query(
        "select source_table, consumer, backlog_rows, recorded_at from ops.consumer_lag"
        " order by backlog_rows desc, source_table, consumer"
    )
    stage = query("select field, value, recorded_at from ops.stage_status order by field")
    kafka = query(
        "select topic, kafka_partition, next_offset, end_offset, lag, recorded_at"
        " from ops.kafka_lag order by topic, kafka_partition"
    )
    recent_rows = 0.0
    if not recent.empty and not pd.isna(recent["rows_processed"].iloc[0]):
        recent_rows = float(recent["rows_processed"].iloc[0])
    return {
        "freshness": freshness,
        "refresh_log": log,
        "errors": errors,
        "jobs": jobs,
        "events_per_s": recent_rows / EVENT_RATE_WINDOW_S,
        "skipped": skipped,
        "skipped_files": 0 if skipped_count.empty else int(skipped_count["files"].iloc[0]),
        "quality": quality,
        "load_errors": _total(quality, "load error"),
        "quarantined": _total(quality, "quarantined"),
        "lag": lag,
        "stage": stage,
        "kafka": kafka,
        "stream_backlog": int(lag["backlog_rows"].sum()) if not lag.empty else 0,
    }


def _total(quality: pd.DataFrame, kind: str) -> int:
    if quality.empty:
        return 0
    return int(quality.loc[quality["kind"] == kind, "row_count"].sum())
