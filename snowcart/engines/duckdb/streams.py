"""Embedded streams: per-consumer offsets over the landing tables.

The offsets live in ops.stream_offsets and are moved by the consuming dbt
model's post-hook inside its own transaction (macros/engine/streams.sql); this
module only reads them, for the scheduler and the status display."""

from __future__ import annotations

import duckdb


class EmbeddedStreams:
    def __init__(self, con: duckdb.DuckDBPyConnection, raw_schema: str) -> None:
        self.con = con
        self.raw_schema = raw_schema

    def _offset_filter(self) -> str:
        # The offset is a rowid: DuckDB numbers appended rows at commit, so a
        # load that commits late is past the offset whatever its _loaded_at.
        return """
            rowid > coalesce(
                (select offset_rowid from ops.stream_offsets where stream_name = $stream),
                -1
            )
        """

    def has_data(self, table: str, consumer: str) -> bool:
        """Whether `consumer` has unconsumed rows in `table` (Snowflake's
        SYSTEM$STREAM_HAS_DATA). Cheap: stops at the first row past the offset."""
        (found,) = self.con.execute(
            f"select exists (select 1 from {self.raw_schema}.{table} where {self._offset_filter()})",
            {"stream": f"{table}__{consumer}"},
        ).fetchone()
        return bool(found)

    def backlog(self, table: str, consumer: str) -> int:
        """Rows of `table` that `consumer` has not consumed yet."""
        (rows,) = self.con.execute(
            f"select count(*) from {self.raw_schema}.{table} where {self._offset_filter()}",
            {"stream": f"{table}__{consumer}"},
        ).fetchone()
        return rows
