"""The serving layer: marts published to a separate DuckDB file that readers
(the dashboard, a BI tool, the DuckDB CLI) open read-only while the pipeline
writes the warehouse.

Each publication is written to a temporary file and renamed over the served
one: the rename is atomic, so a reader opening the file sees one whole
publication, never a half-written one, and a reader that already has it open
keeps reading its publication (the old inode) until it reconnects. The writer
never opens the served file, so readers never meet a DuckDB lock.
"""

from __future__ import annotations

import os
from pathlib import Path

import duckdb

# ops tables readers get beside the marts: freshness and pipeline health.
OPS_TABLES = ("refresh_log", "mart_freshness")


def publish(
    con: duckdb.DuckDBPyConnection, serving_path: Path, tables: list[tuple[str, str]]
) -> None:
    """Copy (schema, table) pairs from the warehouse into a new serving file and
    swap it in."""
    temp_path = serving_path.with_name(f".{serving_path.name}.tmp")
    temp_path.unlink(missing_ok=True)
    Path(f"{temp_path}.wal").unlink(missing_ok=True)
    con.execute("attach ? as serving_next", [str(temp_path)])
    try:
        for schema in sorted({schema for schema, _ in tables}):
            con.execute(f'create schema serving_next."{schema}"')
        for schema, table in tables:
            con.execute(
                f'create table serving_next."{schema}"."{table}" as select * from "{schema}"."{table}"'
            )
    finally:
        con.execute("detach serving_next")
    os.replace(temp_path, serving_path)


def connect_reader(serving_path: Path) -> duckdb.DuckDBPyConnection:
    """A read-only connection to the latest publication, as its default catalog.

    Attached to a fresh in-memory database: `duckdb.connect(path)` would hand
    back the publication another connection in this process already holds open.
    """
    con = duckdb.connect()
    con.execute("attach ? as serving (read_only)", [str(serving_path)])
    con.execute("use serving")
    return con
