"""Is a warehouse file whole? DuckDB checks a block (its checksum, its length in
the file) when it reads it, so reading every column of every table reads, and
checks, every block a table's rows live in. Space the file does not use (free
blocks) is not read, and holds nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb

from snowcart.errors import WarehouseDamaged

# What DuckDB says of a damaged file: a bad checksum, a file cut short, a header
# that is not DuckDB's.
DAMAGE_MARKERS = (
    "Corrupt database file",
    "Could not read enough bytes",
    "not a valid DuckDB database file",
)


def is_damage(error: BaseException) -> bool:
    return any(marker in str(error) for marker in DAMAGE_MARKERS)


def first_line(error: BaseException) -> str:
    return str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__


def quoted(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def find_damage(con: duckdb.DuckDBPyConnection) -> str | None:
    """`schema.table: reason` for the first table with a block that fails
    DuckDB's checks; None when every table reads whole."""
    tables = con.execute(
        "select schema_name, table_name from duckdb_tables()"
        " where database_name = current_database() and not temporary"
        " order by schema_name, table_name"
    ).fetchall()
    for schema, table in tables:
        try:
            # One aggregate per column: the scan reads every column's blocks.
            con.execute(
                f"select count(*), bit_xor(hash(columns(*))) from {quoted(schema)}.{quoted(table)}"
            ).fetchall()
        except duckdb.Error as error:
            if is_damage(error):
                return f"{schema}.{table}: {first_line(error)}"
            raise
    return None


def check_warehouse_file(path: Path) -> None:
    """Read every table of the warehouse file at `path` (read-only);
    WarehouseDamaged naming the first damaged table, if any."""
    try:
        with duckdb.connect(str(path), read_only=True) as con:
            problem = find_damage(con)
    except duckdb.Error as error:
        if is_damage(error):
            raise WarehouseDamaged(path, first_line(error)) from error
        raise
    if problem is not None:
        raise WarehouseDamaged(path, problem)
