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
        return """
            _loaded_at > coalesce(
                (select offset_loaded_at from ops.stream_offsets where stream_name = $stream),
                timestamp '1970-01-01'
            )
        """

    def has_data(self, table: str, consumer: str) -> bool:
        """Whether `consumer` has unconsumed rows in `table` (Snowflake's
        SYSTEM$STREAM_HAS_DATA). Cheap: stops at the first row, and rows land in
        _loaded_at order, so DuckDB's zone maps skip consumed row groups."""
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
