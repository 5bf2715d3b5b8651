"""Reconcile's counts in the embedded warehouse: the pipe's own load history
(ops.load_history, ops.load_errors) and the stream offsets (ops.stream_offsets)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import duckdb

from snowcart.engines.duckdb.health import check_warehouse_file
from snowcart.errors import SnowcartError
from snowcart.reconcile import EVENT_MODELS, OpenCounts, TableCounts, staged_counts_sql

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
