"""The embedded engine's Kafka load: a batch of records from the topics into the
landing tables, and the next offset of every (topic, partition) it holds into
ops.kafka_offsets, in one DuckDB transaction. The feed starts each assigned
partition at those stored offsets, and records below them (sent again after a
rebalance or a restart) are dropped here, so every record is loaded once
whatever Kafka's committed offsets say.

A record's landing row carries where it came from in the columns a file's line
does (`_file_name` = `kafka:<topic>/<partition>`, `_file_row_number` = its
offset), so every model, test and lineage column works unchanged. A record
that is no event (not UTF-8, oversized, a tombstone, not JSON, not an object,
no event_id) goes to ops.load_errors with the same file name and offset and
its reason; the consumer goes on."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import duckdb
import pyarrow as pa

from snowcart.engines.base import LoadReport
from snowcart.engines.duckdb.pipe import CLASSIFY_LINES, _rollback
from snowcart.settings import OPS_SCHEMA
from snowcart.stages.kafka import Message, TopicFeed
from snowcart.stages.records import known_reason, source_name

OFFSETS_DDL = f"""
    create table if not exists {OPS_SCHEMA}.kafka_offsets (
        topic varchar not null,
        kafka_partition integer not null,
        next_offset bigint not null,
        events bigint not null,
        rejected bigint not null,
        updated_at timestamp not null,
        first_offset bigint,
        primary key (topic, kafka_partition)
    )
"""
# The first offset loaded of each partition: with next_offset, the span of
# records reconcile expects to find, each loaded or rejected (a warehouse
# from before it gets the column, empty: reconcile then starts at what it holds).
OFFSETS_MIGRATION = (
    f"alter table {OPS_SCHEMA}.kafka_offsets add column if not exists first_offset bigint"
)
# Records read in one pass at most, and how long a pass waits for the first.
BATCH_RECORDS = 200_000
POLL_S = 0.2


def create_offsets_table(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {OPS_SCHEMA}")
    con.execute(OFFSETS_DDL)
    con.execute(OFFSETS_MIGRATION)


def stored_offsets(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, int], int]:
    """(topic, partition) → the first offset not loaded yet."""
    rows = con.execute(
        f"select topic, kafka_partition, next_offset from {OPS_SCHEMA}.kafka_offsets"
    ).fetchall()
    return {(topic, partition): offset for topic, partition, offset in rows}


class KafkaLoader:
    def __init__(self, con: duckdb.DuckDBPyConnection, feed: TopicFeed, raw_schema: str) -> None:
        self.con = con
        self.feed = feed
        self.raw_schema = raw_schema

    def load(self, timeout_s: float = POLL_S) -> LoadReport:
        """One batch of records (waiting up to `timeout_s` for the first) loaded."""
        report = LoadReport()
        messages = self.feed.poll(BATCH_RECORDS, timeout_s)
        if not messages:
            return report
        stored = stored_offsets(self.con)
        fresh = [m for m in messages if m.offset >= stored.get((m.topic, m.partition), 0)]
        if not fresh:
            return report
        by_topic: dict[str, list[Message]] = {}
        for message in fresh:
            by_topic.setdefault(message.topic, []).append(message)
        loaded_at = self._load_timestamp()
        con = self.con
        # → [next offset, events, rejected, first offset]
        counts: dict[tuple[str, int], list[int]] = {}
        con.execute("begin transaction")
        try:
            for topic, records in by_topic.items():
                table = self.feed.topics[topic]
                rows, errors = self._insert(topic, table, records, loaded_at, counts)
                report.rows_loaded += rows
                report.rows_rejected += errors
                report.files += 1
                report.files_by_table[table] = report.files_by_table.get(table, 0) + 1
            con.executemany(
                f"""
                insert into {OPS_SCHEMA}.kafka_offsets (topic, kafka_partition, next_offset,
                    events, rejected, first_offset, updated_at)
                values (?, ?, ?, ?, ?, ?, ?)
                on conflict (topic, kafka_partition) do update set
                    next_offset = excluded.next_offset,
                    events = kafka_offsets.events + excluded.events,
                    rejected = kafka_offsets.rejected + excluded.rejected,
                    updated_at = excluded.updated_at
                """,
                [
                    [topic, partition, offset, events, rejected, first, loaded_at]
                    for (topic, partition), (offset, events, rejected, first) in counts.items()
                ],
            )
            con.execute("commit")
        except BaseException:
            _rollback(con)
            raise
        finally:
            con.execute("drop table if exists kafka_records")
        # Only now, with the rows committed, may Kafka hear of it.
        self.feed.commit({key: value[0] for key, value in counts.items()})
        return report

    def _insert(
        self,
        topic: str,
        table: str,
        records: list[Message],
        loaded_at: datetime,
        counts: dict[tuple[str, int], list[int]],
    ) -> tuple[int, int]:
        texts, reasons = [], []
        for record in records:
            found = known_reason(record.value)
            texts.append(found.text)
            reasons.append(found.reason)
        arrow = pa.table(  # noqa: F841 (read by DuckDB by name)
            {
                "kafka_partition": pa.array([r.partition for r in records], pa.int32()),
                "line_number": pa.array([r.offset for r in records], pa.int64()),
                "line": pa.array(texts, pa.string()),
                "known_reason": pa.array(reasons, pa.string()),
            }
        )
        con = self.con
        con.execute(
            "create or replace temp table kafka_records as " + CLASSIFY_LINES.format(source="arrow")
        )
        params = {"prefix": source_name(topic, 0)[:-1], "loaded_at": loaded_at}
        (rows,) = con.execute(
            f"""
            insert into {self.raw_schema}.{table}
                (payload, _file_name, _file_row_number, _loaded_at)
            select json(line), $prefix || kafka_partition, line_number, $loaded_at
            from kafka_records
            where reject_reason is null
            order by kafka_partition, line_number
            """,
            params,
        ).fetchone()
        (errors,) = con.execute(
            f"""
            insert into {OPS_SCHEMA}.load_errors
            select $prefix || kafka_partition, line_number, line, reject_reason, $loaded_at
            from kafka_records
            where reject_reason is not null
            """,
            params,
        ).fetchone()
        per_partition = con.execute(
            """
            select kafka_partition, max(line_number) + 1,
                count(*) filter (where reject_reason is null),
                count(*) filter (where reject_reason is not null), min(line_number)
            from kafka_records group by 1
            """
        ).fetchall()
        for partition, *facts in per_partition:
            counts[(topic, partition)] = facts
        return rows, errors

    def _load_timestamp(self) -> datetime:
        """Now (UTC), after every earlier load of a file or a record: `_loaded_at` only grows."""
        now = datetime.now(UTC).replace(tzinfo=None)
        (previous,) = self.con.execute(
            f"""
            select greatest(
                (select max(loaded_at) from {OPS_SCHEMA}.load_history),
                (select max(updated_at) from {OPS_SCHEMA}.kafka_offsets)
            )
            """
        ).fetchone()
        if previous is not None and now <= previous:
            now = previous + timedelta(microseconds=1)
        return now

    def pending(self) -> int:
        """0 once every partition this consumer holds is read to its end; else
        the records left by the partitions' ends, at least 1."""
        if self.feed.caught_up():
            return 0
        return max(sum(self.lag().values()), 1)

    def lag(self) -> dict[tuple[str, int], int]:
        """Records each partition holds beyond what the warehouse loaded."""
        return {(topic, partition): lag for topic, partition, *_, lag in self.partition_lag()}

    def partition_lag(self) -> list[tuple[str, int, int, int, int]]:
        """(topic, partition, next offset stored, end, records between) per partition."""
        stored = stored_offsets(self.con)
        return [
            (topic, partition, stored.get((topic, partition), 0), end,
             max(end - stored.get((topic, partition), 0), 0))
            for (topic, partition), end in sorted(self.feed.end_offsets().items())
        ]  # fmt: skip
