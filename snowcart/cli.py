"""Command-line entry points; scripts/*.py are one-line wrappers around these."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

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
    parser.add_argument(
        "--backfill",
        type=non_negative_float,
        default=0.0,
        metavar="DAYS",
        help="first generate DAYS of history as fast as possible, then go live",
    )
    replay = parser.add_argument_group("replay of real data (instead of generated events)")
    replay.add_argument(
        "--replay",
        default=None,
        metavar="PATH",
        help="CSV or Parquet of transactions, streamed in event-time order",
    )
    replay.add_argument(
        "--speed",
        type=non_negative_float,
        default=3600.0,
        metavar="X",
        help="event time runs X times faster than wall time (0: as fast as possible; default 3600)",
    )
    replay.add_argument(
        "--replay-columns",
        default=None,
        metavar="MAP",
        help="column mapping for other layouts, e.g. invoice=OrderNo,unit_price=Price (default: UCI Online Retail)",
    )
    faults = parser.add_argument_group("fault injection (fractions of events, 0-1)")
    for name, help_text in FAULT_FLAGS.items():
        faults.add_argument(
            f"--{name.replace('_', '-')}",
            dest=name,
            type=fraction,
            default=0.0,
            metavar="RATE",
            help=help_text,
        )
    return parser


FAULT_FLAGS = {
    "duplicate_rate": "events delivered twice",
    "late_rate": "events arriving minutes to days after their event time",
    "out_of_order_rate": "order status updates emitted before the status they follow",
    "malformed_rate": "lines that are not valid JSON",
    "schema_drift_rate": "events with an extra, unknown field",
    "invalid_rate": "well-formed events staging must quarantine (bad type, key, time, quantity)",
}


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def simulate_main(argv: Sequence[str] | None = None) -> int:
    parser = simulate_parser()
    args = parser.parse_args(argv)
    if args.replay and (args.events is not None or args.backfill):
        parser.error("--replay streams its file to the end; it takes no --events or --backfill")
    return run_guarded(lambda stop: _simulate(args, stop))


def _simulate(args: argparse.Namespace, stop: threading.Event) -> int:
    from snowcart.engines import engine_for
    from snowcart.loop.pipeline import Pipeline
    from snowcart.loop.status import StatusBoard
    from snowcart.settings import Settings
    from snowcart.sources.generator import Faults, ShopGenerator
    from snowcart.sources.producer import Producer
    from snowcart.stages.local import LocalStage

    settings = Settings.resolve(args.target, args.home)
    warehouse = engine_for(settings).open_warehouse()
    try:
        print(f"snowcart: target={settings.target} home={settings.home}", flush=True)
        replay = None
        if args.replay:
            from snowcart.sources.replay import ColumnMapping, Replay

            replay = Replay(Path(args.replay), ColumnMapping.parse(args.replay_columns))
        warehouse.setup()
        faults = Faults(**{name: getattr(args, name) for name in FAULT_FLAGS})
        producer = Producer(
            ShopGenerator(seed=args.seed, faults=faults),
            LocalStage(settings.stage_dir),
            settings.ledger_path,
            settings.producer_state_path,
        )
        # A batch a crash interrupted is finished first, also when this run only
        # drains (--events 0): otherwise its files already staged would have no
        # ledger lines, and its other files would never be written.
        producer.recover()
        if replay is not None:
            speed = args.speed

            def produce(stop: threading.Event) -> None:
                replay.run(producer, speed, stop)

        elif args.events == 0:
            produce = None
        else:

            def produce(stop: threading.Event) -> None:
                producer.run(args.events, args.rate, stop, backfill_days=args.backfill)

        with StatusBoard("snowcart pipeline") as status:
            pipeline = Pipeline(warehouse, status)
            report = pipeline.run(producer, produce, stop)
        print(
            f"snowcart: done: {report.events_emitted:,} events produced, "
            f"{report.loaded.files:,} files / {report.loaded.rows_loaded:,} rows loaded, "
            f"{report.loaded.rows_rejected:,} lines rejected, {report.builds} dbt builds, "
            f"{report.mart_refreshes} mart refreshes",
            flush=True,
        )
        for key, value in report.totals.items():
            print(f"  {key}: {value:,.2f}" if value % 1 else f"  {key}: {int(value):,}")
        if replay is not None:
            print_replay_report(replay.report)
        return 0
    finally:
        warehouse.close()


def print_replay_report(report) -> None:
    print(
        f"snowcart: replay of {report.rows_read:,} source rows: "
        f"{report.order_lines:,} order lines in {report.orders:,} orders, "
        f"{report.return_lines:,} returned lines ({report.returns_unmatched:,} without their sale "
        f"in the file), {report.stock_adjustment_rows:,} stock adjustments"
    )
    print(
        f"snowcart: bad-debt adjustments: {report.bad_debt_rows} rows, "
        f"{report.bad_debt_amount:,.2f} in total: reported here, not counted as sales"
    )


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


def pipeline_main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(
        prog="pipeline.py",
        description=(
            "Run the real-time loop alone, for a producer writing the stage elsewhere: load new "
            "stage files, transform what the streams hold, refresh the marts as their target_lag "
            "falls due, publish them to the serving layer. Until Ctrl-C (then drain) or, with "
            "--drain, until everything staged is loaded and built."
        ),
    )
    parser.add_argument(
        "--target",
        choices=["dev", "snowflake"],
        default=None,
        help="default: $SNOWCART_TARGET or dev",
    )
    parser.add_argument("--home", default=None, help="as for simulate.py")
    parser.add_argument(
        "--drain", action="store_true", help="load and build what is staged, then exit"
    )
    args = parser.parse_args(argv)
    return run_guarded(lambda stop: _pipeline(args, stop))


def _pipeline(args: argparse.Namespace, stop: threading.Event) -> int:
    from snowcart.engines import engine_for
    from snowcart.loop.pipeline import Pipeline
    from snowcart.loop.status import StatusBoard
    from snowcart.settings import Settings

    settings = Settings.resolve(args.target, args.home)
    engine = engine_for(settings)
    warehouse = engine.open_warehouse()
    try:
        print(f"snowcart: target={settings.target} home={settings.home}", flush=True)
        print(f"snowcart: readers: {engine.open_reader().description}", flush=True)
        warehouse.setup()
        with StatusBoard("snowcart pipeline") as status:
            pipeline = Pipeline(warehouse, status)
            if args.drain:
                pipeline.drain(None)
                report = pipeline.report
            else:
                report = pipeline.serve(stop)
        print(
            f"snowcart: done: {report.loaded.files:,} files / {report.loaded.rows_loaded:,} rows "
            f"loaded, {report.builds} transforms, {report.mart_refreshes} mart refreshes",
            flush=True,
        )
        return 0
    finally:
        warehouse.close()


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


def setup_main(argv: Sequence[str] | None = None) -> int:
    from snowcart.engines.snowflake.setup import setup_main as main

    return main(argv)
