"""Reconcile's counts in the embedded warehouse: the pipe's own load history
(ops.load_history, ops.load_errors) and the stream offsets (ops.stream_offsets)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from snowcart.engines.duckdb.health import check_warehouse_file
from snowcart.engines.duckdb.kafka_load import stored_offsets
from snowcart.errors import SnowcartError
from snowcart.reconcile import EVENT_MODELS, OpenCounts, TableCounts, staged_counts_sql
from snowcart.stages.records import source_name

if TYPE_CHECKING:
    from snowcart.stages.s3 import S3Mirror


class DuckDBLoadCounts(OpenCounts):
    """The warehouse file, opened read-only for one reconciliation."""

    has_load_history = True

    def __init__(self, warehouse_path: Path, mirror: S3Mirror | None = None) -> None:
        self.warehouse_path = warehouse_path
        self.mirror = mirror  # an S3 stage, brought into the local stage folder

    def stage_objects(self) -> dict[str, bool] | None:
        return None if self.mirror is None else self.mirror.objects()

    def connect(self) -> duckdb.DuckDBPyConnection:
        if not self.warehouse_path.exists():
            raise SnowcartError(f"no warehouse at {self.warehouse_path}; run simulate.py first")
        # Every block of every table read once: a file damaged where reconcile's
        # own queries never read (a mart's blocks) is found here, before any count.
        check_warehouse_file(self.warehouse_path)
        try:
            return duckdb.connect(str(self.warehouse_path), read_only=True)
        except duckdb.IOException as error:
            raise SnowcartError(
                f"cannot open the warehouse read-only (is a pipeline running?): {error}"
            ) from error

    def count_loads(self, counts: TableCounts) -> None:
        con, table = self.con, counts.table
        history = con.execute(
            "select file_name, line_count, row_count, error_count, file_sha256"
            " from ops.load_history where table_name = $table",
            {"table": table},
        ).fetchall()
        for name, line_count, row_count, error_count, sha256 in history:
            file = counts.file(name)
            file.pipe, file.pipe_sha256 = line_count, sha256
            counts.recorded_rows += row_count
            counts.recorded_errors += error_count
        counts.loaded_files = len(history)
        counts.loaded, counts.rejected = con.execute(
            f"""
            select
                (select count(*) from raw.{table}),
                (select count(*) from ops.load_errors as errors
                 join ops.load_history as history using (file_name)
                 where history.table_name = $table)
            """,
            {"table": table},
        ).fetchone()

    def stored_offsets(self) -> dict[tuple[str, int], int]:
        return stored_offsets(self.con) if self._has_offsets() else {}

    def _has_offsets(self) -> bool:
        (found,) = self.con.execute(
            "select count(*) from duckdb_tables() where schema_name = 'ops'"
            " and table_name = 'kafka_offsets'"
        ).fetchone()
        return bool(found)

    def count_topic(self, counts: TableCounts) -> None:
        con, table = self.con, counts.table
        params = {"source": source_name(counts.topic, 0)[:-1] + "%", "topic": counts.topic}
        counts.loaded, counts.rejected = con.execute(
            f"""
            select (select count(*) from raw.{table}),
                (select count(*) from ops.load_errors where file_name like $source)
            """,
            {"source": params["source"]},
        ).fetchone()
        if not self._has_offsets():
            return
        (counts.recorded_rows, counts.recorded_errors, counts.read, counts.held,
         counts.held_distinct) = con.execute(
            f"""
            with held as (
                select _file_name as source, _file_row_number as record_offset
                from raw.{table} where _file_name like $source
                union all
                select file_name, line_number from ops.load_errors where file_name like $source
            ),
            per_partition as (
                select source, min(record_offset) as first_offset, count(*) as records,
                    count(distinct record_offset) as distinct_records
                from held group by source
            )
            select coalesce(sum(stored.events), 0), coalesce(sum(stored.rejected), 0),
                coalesce(sum(stored.next_offset
                    - coalesce(stored.first_offset, held.first_offset, stored.next_offset)), 0),
                coalesce(sum(held.records), 0), coalesce(sum(held.distinct_records), 0)
            from ops.kafka_offsets as stored
            left join per_partition as held
                on held.source = 'kafka:' || stored.topic || '/' || stored.kafka_partition
            where stored.topic = $topic
            """,
            params,
        ).fetchone()  # fmt: skip

    def count_consumed(self, counts: TableCounts) -> None:
        model = EVENT_MODELS[counts.table]
        # Consumed: landing rows at or before the model's stream offset.
        (counts.consumed,) = self.con.execute(
            f"""
            select count(*) from raw.{counts.table}
            where rowid <= (
                select offset_rowid from ops.stream_offsets where stream_name = $stream
            )
            """,
            {"stream": f"{counts.table}__{model}"},
        ).fetchone()
        counts.deduplicated, counts.valid, counts.quarantined = self.con.execute(
            staged_counts_sql(model)
        ).fetchone()
        counts.duplicates = counts.consumed - counts.deduplicated
