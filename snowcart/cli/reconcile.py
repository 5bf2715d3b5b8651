"""`reconcile.py`: every count of every landing table, each from its own source."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from snowcart.cli.common import (
    OneLineParser,
    add_kafka_arguments,
    add_stage_arguments,
    run_guarded,
    with_kafka,
    with_stage,
)


def reconcile_main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(
        prog="reconcile.py",
        description=(
            "Per landing table: events emitted (producer ledger), lines staged, rows loaded, "
            "lines rejected, files skipped, rows consumed downstream, each file's lines counted "
            "as the pipe counts them. Exits 1 if any count fails to add up. "
            "Run it while no pipeline holds the warehouse."
        ),
    )
    parser.add_argument(
        "--target",
        choices=["dev", "snowflake"],
        default=None,
        help="the warehouse to count in (default: $SNOWCART_TARGET or dev)",
    )
    parser.add_argument("--home", default=None, help="as for simulate.py")
    add_stage_arguments(parser)
    add_kafka_arguments(parser, "source")
    args = parser.parse_args(argv)
    return run_guarded(lambda stop: _reconcile(args), lambda: _settings(args))


def _settings(args: argparse.Namespace):
    from snowcart.settings import Settings

    return Settings.locate(args.target, args.home)


def _reconcile(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from snowcart.engines import engine_for
    from snowcart.reconcile import reconcile
    from snowcart.settings import Settings

    settings = with_kafka(
        with_stage(Settings.resolve(args.target, args.home), args), args, "source"
    )
    result = reconcile(settings, engine_for(settings).open_load_counts())
    s3_columns = ["objects"] if settings.s3_stage is not None else []
    # A topic has no files: the records read from it, and what it still holds.
    source_columns = (
        ["read", "loaded", "rejected", "lag"]
        if settings.kafka is not None
        else ["staged_lines", "loaded", "rejected", "skipped_files"]
    )
    columns = [
        *s3_columns,
        "emitted",
        *source_columns,
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
    for counts in result.tables:
        table.add_row(
            counts.table,
            *(
                "—"  # no staging model reads this table yet, or no ledger
                if (column in consumer_columns and not counts.has_consumer)
                or getattr(counts, column) is None
                else f"{getattr(counts, column):,}"
                for column in columns
            ),
        )
    Console(width=160).print(table)
    if result.no_ledger:
        print(f"note: {result.no_ledger}")
    for counts in result.tables:
        for note in counts.notes:
            print(f"note: {counts.table}: {note}")
    for entry in result.skipped:
        print(f"skipped {entry}")
    for problem in result.problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    if result.problems:
        return 1
    skipped = (
        f"; {len(result.skipped):,} stage entries skipped with a reason (listed above)"
        if result.skipped
        else ""
    )
    print(
        "reconciled: every emitted event is loaded (valid or quarantined), rejected with a reason,"
        f" or a counted duplicate{skipped}"
    )
    return 0
