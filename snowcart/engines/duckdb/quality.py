"""What the pipeline could not use and what it has not read yet, as small ops
tables the serving layer publishes: load errors and quarantined rows by table
and reason (with the newest example), each stream consumer's backlog, and a
Kafka source's lag per partition. The
Pipeline health tab reads them there, never opening the warehouse."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb

from snowcart.engines.base import Health
from snowcart.engines.duckdb.streams import EmbeddedStreams

QUALITY_TABLE, LAG_TABLE, STAGE_TABLE = "data_quality", "consumer_lag", "stage_status"
KAFKA_LAG_TABLE = "kafka_lag"
EXAMPLE_CHARS = 200


def create_tables(con: duckdb.DuckDBPyConnection) -> None:
    """Empty until the first record(): the serving layer publishes them always."""
    con.execute(
        f"create table if not exists ops.{QUALITY_TABLE} (kind varchar, table_name varchar,"
        " reason varchar, row_count bigint, newest_at timestamp, newest_example varchar,"
        " recorded_at timestamp)"
    )
    con.execute(
        f"create table if not exists ops.{LAG_TABLE} (source_table varchar, consumer varchar,"
        " backlog_rows bigint, recorded_at timestamp)"
    )
    # An S3 stage's own state (oldest unloaded object, notices waiting); empty for a folder.
    con.execute(
        f"create table if not exists ops.{STAGE_TABLE} (field varchar, value varchar,"
        " recorded_at timestamp)"
    )
    # A Kafka source: each partition's stored offset, its end and the lag; empty otherwise.
    con.execute(
        f"create table if not exists ops.{KAFKA_LAG_TABLE} (topic varchar, kafka_partition integer,"
        " next_offset bigint, end_offset bigint, lag bigint, recorded_at timestamp)"
    )


def quarantine_views(con: duckdb.DuckDBPyConnection) -> list[str]:
    return [
        name
        for (name,) in con.execute(
            "select table_name from information_schema.tables"
            " where table_catalog = current_database() and table_schema = 'quarantine'"
            " order by table_name"
        ).fetchall()
    ]


def record(
    con: duckdb.DuckDBPyConnection,
    streams: EmbeddedStreams,
    consumers: dict[str, list[str]],
    stage: dict[str, int | float | str] | None = None,
    kafka_lag: list[tuple[str, int, int, int, int]] | None = None,
) -> Health:
    """Rewrite ops.data_quality, ops.consumer_lag, ops.stage_status and
    ops.kafka_lag (each one statement) and return their totals."""
    now = datetime.now(UTC).replace(tzinfo=None)
    parts = [
        f"""
        select 'load error' as kind, split_part(file_name, '/', 1) as table_name,
            reason, count(*) as row_count, max(loaded_at) as newest_at,
            left(arg_max(raw_line, loaded_at), {EXAMPLE_CHARS}) as newest_example
        from ops.load_errors group by all
        """
    ]
    parts += [
        f"""
        select 'quarantined', '{view}', invalid_reason, count(*), max(_loaded_at),
            left(arg_max(coalesce(invalid_value, event_id), _loaded_at), {EXAMPLE_CHARS})
        from quarantine."{view}" group by all
        """
        for view in quarantine_views(con)
    ]
    con.execute(
        f"create or replace table ops.{QUALITY_TABLE} as"
        f" select *, $now as recorded_at from ({' union all '.join(parts)})"
        " order by kind, table_name, row_count desc",
        {"now": now},
    ).fetchall()
    lag = [
        (table, model, streams.backlog(table, model), now)
        for table, models in sorted(consumers.items())
        for model in models
    ]
    # Written by the one thread that also publishes: never seen half-written.
    con.execute(f"delete from ops.{LAG_TABLE}")
    con.executemany(f"insert into ops.{LAG_TABLE} values (?, ?, ?, ?)", lag)
    con.execute(f"delete from ops.{STAGE_TABLE}")
    if stage:
        con.executemany(
            f"insert into ops.{STAGE_TABLE} values (?, ?, ?)",
            [(field, str(value), now) for field, value in stage.items()],
        )
    con.execute(f"delete from ops.{KAFKA_LAG_TABLE}")
    if kafka_lag:
        con.executemany(
            f"insert into ops.{KAFKA_LAG_TABLE} values (?, ?, ?, ?, ?, ?)",
            [(*row, now) for row in kafka_lag],
        )
    (errors, quarantined) = con.execute(
        f"select coalesce(sum(row_count) filter (kind = 'load error'), 0),"
        f" coalesce(sum(row_count) filter (kind = 'quarantined'), 0) from ops.{QUALITY_TABLE}"
    ).fetchone()
    return Health(int(errors), int(quarantined), sum(rows for _, _, rows, _ in lag))
