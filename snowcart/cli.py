"""Command-line entry points; scripts/*.py are one-line wrappers around these."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence

from snowcart.errors import SnowcartError


class OneLineParser(argparse.ArgumentParser):
    """Bad flags: one line on stderr and exit 2, no usage dump."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def simulate_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="simulate.py",
        description=(
            "Stream generated e-commerce events through stage → pipe → dbt. With --events N, "
            "stop after N events, drain and exit; otherwise run until Ctrl-C, then drain."
        ),
    )
    parser.add_argument(
        "--target",
        choices=["dev", "snowflake"],
        default=None,
        help="warehouse to feed (default: $SNOWCART_TARGET or dev)",
    )
    parser.add_argument(
        "--home",
        default=None,
        help="folder for the embedded warehouse and stage (default: $SNOWCART_HOME or ./.snowcart)",
    )
    parser.add_argument(
        "--events",
        type=non_negative_int,
        default=None,
        help="stop after N events (0: only drain what is staged)",
    )
    parser.add_argument(
        "--rate",
        type=non_negative_float,
        default=1000.0,
        help="events per second (0: as fast as possible; default 1000)",
    )
    parser.add_argument("--seed", type=int, default=42, help="random seed (default 42)")
    return parser


def simulate_main(argv: Sequence[str] | None = None) -> int:
    args = simulate_parser().parse_args(argv)
    return run_guarded(lambda stop: _simulate(args, stop))


def _simulate(args: argparse.Namespace, stop: threading.Event) -> int:
    from snowcart.backends import open_warehouse
    from snowcart.generator import OrderGenerator
    from snowcart.pipeline import Pipeline
    from snowcart.producer import Producer
    from snowcart.settings import Settings
    from snowcart.stage import LocalStage
    from snowcart.status import StatusBoard

    settings = Settings.resolve(args.target, args.home)
    warehouse = open_warehouse(settings)
    try:
        print(f"snowcart: target={settings.target} home={settings.home}", flush=True)
        warehouse.setup()
        producer = Producer(
            OrderGenerator(seed=args.seed),
            LocalStage(settings.stage_dir),
            settings.ledger_path,
            settings.producer_state_path,
        )
        with StatusBoard("snowcart pipeline") as status:
            pipeline = Pipeline(warehouse, status)
            report = pipeline.run(producer, args.events, args.rate, stop)
        print(
            f"snowcart: done: {report.events_emitted:,} events produced, "
            f"{report.loaded.files:,} files / {report.loaded.rows_loaded:,} rows loaded, "
            f"{report.loaded.rows_rejected:,} lines rejected, {report.builds} dbt builds",
            flush=True,
        )
        for key, value in report.totals.items():
            print(f"  {key}: {value:,.2f}" if value % 1 else f"  {key}: {int(value):,}")
        return 0
    finally:
        warehouse.close()


def run_guarded(main: Callable[[threading.Event], int]) -> int:
    """Run `main` with Ctrl-C → graceful stop (a second Ctrl-C aborts), and
    user-facing errors printed as one line."""
    stop = threading.Event()

    def on_interrupt(signum, frame):  # noqa: ARG001
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(
            "\nsnowcart: stopping after the current batch, then draining (Ctrl-C again to abort)",
            file=sys.stderr,
            flush=True,
        )

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        return main(stop)
    except SnowcartError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("snowcart: aborted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)


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
        "duplicates",
    ]
    table = Table(title=f"reconciliation of {settings.home}")
    table.add_column("table")
    for column in columns:
        table.add_column(column.replace("_", " "), justify="right")
    for counts in results:
        table.add_row(counts.table, *(f"{getattr(counts, column):,}" for column in columns))
    Console(width=120).print(table)
    problems = [f"{counts.table}: {problem}" for counts in results for problem in counts.problems]
    for problem in problems:
        print(f"MISMATCH {problem}", file=sys.stderr)
    if problems:
        return 1
    print(
        "reconciled: every emitted event is loaded, rejected with a reason, or a counted duplicate"
    )
    return 0
