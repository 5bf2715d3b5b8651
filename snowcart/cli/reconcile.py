"""`reconcile.py`: every count of every landing table, each from its own source."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from snowcart.errors import SnowcartError

if TYPE_CHECKING:
    pass

from snowcart.cli.common import OneLineParser, run_guarded


def reconcile_main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(
        prog="reconcile.py",
        description=(
            "Per landing table: events emitted (producer ledger), lines staged, rows loaded, "
            "lines rejected, rows consumed downstream. Exits 1 if any count fails to add up. "
            "Run it while no pipeline holds the warehouse."
        ),
    )
    parser.add_argument("--home", default=None, help="as for simulate.py")
    args = parser.parse_args(argv)
    return run_guarded(lambda stop: _reconcile(args))


def _reconcile(args: argparse.Namespace) -> int:
    import duckdb
    from rich.console import Console
    from rich.table import Table

    from snowcart.reconcile import reconcile
    from snowcart.settings import Settings

    settings = Settings.resolve("dev", args.home)
    if not settings.warehouse_path.exists():
        raise SnowcartError(f"no warehouse at {settings.warehouse_path}; run simulate.py first")
    try:
        results = reconcile(settings)
    except duckdb.IOException as error:
        raise SnowcartError(
            f"cannot open the warehouse read-only (is a pipeline running?): {error}"
        ) from error
    columns = [
        "emitted",
        "staged_lines",
        "loaded",
        "rejected",
        "consumed",
        "deduplicated",
        "valid",
        "quarantined",
        "duplicates",
    ]
    consumer_columns = {"consumed", "deduplicated", "valid", "quarantined", "duplicates"}
    table = Table(title=f"reconciliation of {settings.home}")
    table.add_column("table")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for counts in results:
        table.add_row(
            counts.table,
            *(
                "—"  # no staging model reads this table yet
                if column in consumer_columns and not counts.has_consumer
                else f"{getattr(counts, column):,}"
                for column in columns
            ),
        )
    Console(width=150).print(table)
    problems = [f"{counts.table}: {problem}" for counts in results for problem in counts.problems]
    for problem in problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    if problems:
        return 1
    print(
        "reconciled: every emitted event is loaded (valid or quarantined), rejected with a reason,"
        " or a counted duplicate"
    )
    return 0
