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
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pandas as pd

from snowcart.engines.base import MartQuery, MartReader, NotReady, normalise

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
