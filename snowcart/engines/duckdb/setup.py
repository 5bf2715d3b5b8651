"""`scripts/setup.py --target dev`: the embedded counterparts in the DuckDB
file under the home folder (landing tables through dbt, the pipe's load
metadata), created if missing and listed as created or already there."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from snowcart.settings import OPS_SCHEMA, landing_tables, raw_schema

if TYPE_CHECKING:
    from snowcart.engines.base import SetupOptions
    from snowcart.settings import Settings


def setup_embedded(settings: Settings, options: SetupOptions) -> bool:
    if options.dry_run:
        print_dry_run(settings)
        return True

    from snowcart.engines.duckdb.warehouse import DuckDBWarehouse

    settings.prepare()
    print(f"snowcart setup: target=dev home={settings.home}", flush=True)
    warehouse = DuckDBWarehouse(settings)
    try:
        schemas = (raw_schema(settings.project_dir), OPS_SCHEMA)
        before = duckdb_tables(warehouse.con, schemas)
        warehouse.setup()
        after = duckdb_tables(warehouse.con, schemas)
    finally:
        warehouse.close()
    for name in after:
        print(f"  {'exists ' if name in before else 'created'} table {name}")
    print(f"snowcart setup: {len(after) - len(before)} created, {len(before)} already there")
    return True


def print_dry_run(settings: Settings) -> None:
    """What setup would create; creates nothing, not even the home folder."""
    import duckdb

    from snowcart.engines.duckdb.pipe import create_load_metadata

    raw = raw_schema(settings.project_dir)
    print(f"snowcart setup (dry run, nothing created): target=dev home={settings.home}")
    print(f"  would create {settings.stage_dir}/ and {settings.warehouse_path}")
    for table in landing_tables(settings.project_dir):
        print(
            f"  would create table {raw}.{table} if missing "
            "(dbt run-operation create_landing_tables)"
        )
    # The pipe's load metadata, as the pipe creates it, probed in memory.
    with duckdb.connect(":memory:") as probe:
        create_load_metadata(probe)
        for name in duckdb_tables(probe, (OPS_SCHEMA,)):
            print(f"  would create table {name} if missing (snowcart/engines/duckdb/pipe.py)")


def duckdb_tables(con, schemas: Sequence[str]) -> list[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_schema in ({', '.join('?' for _ in schemas)}) order by 1",
        list(schemas),
    ).fetchall()
    return [row[0] for row in rows]
