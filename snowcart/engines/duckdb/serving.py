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

import json
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from snowcart.engines.base import MartDoc, MartQuery, MartReader, NotReady, normalise

# ops tables readers get beside the marts: freshness, pipeline health (the
# stage files the pipe skipped, load errors and quarantine by table and reason,
# each consumer's backlog: quality.py) and the catalog of the published marts
# (write_catalog).
OPS_TABLES = (
    "refresh_log", "mart_freshness", "mart_catalog", "load_skips", "data_quality", "consumer_lag",
    "stage_status", "kafka_lag",
)  # fmt: skip
MART_SCHEMA = "analytics"
MART_PREFIX = "rpt_"
CATALOG_SQL = "select schema_name, mart, description, columns from ops.mart_catalog order by mart"


def report_marts(con: duckdb.DuckDBPyConnection) -> list[str]:
    """Every report mart (`rpt_*`) the warehouse holds, built by whatever model."""
    names = con.execute(
        "select table_name from information_schema.tables"
        " where table_catalog = current_database() and table_schema = ?",
        [MART_SCHEMA],
    ).fetchall()
    return sorted(name for (name,) in names if name.startswith(MART_PREFIX))


def mart_columns(con: duckdb.DuckDBPyConnection, marts: list[str]) -> list[tuple[str, str, str]]:
    """(mart, column, data type) of the marts, in column order."""
    if not marts:
        return []
    return con.execute(
        "select table_name, column_name, data_type from information_schema.columns"
        " where table_catalog = current_database() and table_schema = ?"
        " and list_contains(?, table_name) order by table_name, ordinal_position",
        [MART_SCHEMA, marts],
    ).fetchall()


def write_catalog(
    con: duckdb.DuckDBPyConnection,
    columns: list[tuple[str, str, str]],
    docs: dict[str, MartDoc],
) -> None:
    """ops.mart_catalog: one row per mart with its description and columns (name,
    type from the warehouse, description from the manifest) as JSON, so readers
    list the marts without the manifest or the warehouse."""
    by_mart: dict[str, list[dict[str, str]]] = {}
    for mart, column, data_type in columns:
        doc = docs.get(mart, MartDoc(""))
        by_mart.setdefault(mart, []).append(
            {
                "name": column,
                "data_type": data_type,
                "description": doc.columns.get(column.lower(), ""),
            }
        )
    catalog_rows = pd.DataFrame(
        [
            (MART_SCHEMA, mart, docs.get(mart, MartDoc("")).description, json.dumps(described))
            for mart, described in sorted(by_mart.items())
        ],
        columns=["schema_name", "mart", "description", "columns"],
    ).astype(str)
    con.execute("create schema if not exists ops")
    con.register("mart_catalog_rows", catalog_rows)
    try:
        con.execute(
            "create or replace table ops.mart_catalog (schema_name varchar not null,"
            " mart varchar primary key, description varchar not null, columns varchar not null)"
        )
        con.execute("insert into ops.mart_catalog select * from mart_catalog_rows")
    finally:
        con.unregister("mart_catalog_rows")


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


class ServingReader(MartReader):
    """The embedded serving layer: a read-only DuckDB file replaced atomically
    after each mart refresh."""

    has_ops_tables = True

    def __init__(self, serving_path: Path) -> None:
        self.serving_path = Path(serving_path)
        self.description = f"DuckDB serving layer {self.serving_path}"

    @contextmanager
    def open(self) -> Iterator[MartQuery]:
        if not self.serving_path.exists():
            raise NotReady(
                f"No data yet: nothing has been published to {self.serving_path}. "
                "Start the pipeline (make demo, or scripts/simulate.py --home "
                f"{self.serving_path.parent}); the dashboard picks the data up on its own."
            )
        # A fresh in-memory database that attaches the file: duckdb.connect(path)
        # would hand back a cached instance (an older publication) while another
        # session of the app still has the file open.
        con = duckdb.connect(":memory:")
        try:
            try:
                con.execute("attach ? as serving (read_only)", [str(self.serving_path)])
            except duckdb.Error as error:
                raise NotReady(
                    f"Still loading: cannot open {self.serving_path} yet ({error})."
                ) from error
            con.execute("use serving")

            def query(sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
                try:
                    return normalise(con.execute(sql, list(params)).df())
                except duckdb.CatalogException:
                    return pd.DataFrame()  # a mart not published yet

            yield query
        finally:
            con.close()

    def mart_catalog(self, query: MartQuery) -> pd.DataFrame:
        return query(CATALOG_SQL)
