"""`simulate.py`: generate (or replay) events into the stage and run the loop beside them."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

from snowcart.cli.common import (
    OneLineParser,
    add_kafka_arguments,
    add_stage_arguments,
    check_writable,
    fraction,
    non_negative_float,
    non_negative_int,
    run_guarded,
    utc_time,
    with_kafka,
    with_stage,
)


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
        "--start-at",
        type=utc_time,
        default=None,
        metavar="ISO_TIME",
        help="run the shop on its own clock from this UTC time (e.g. 2026-01-01T00:00:00Z) "
        "instead of the wall clock: batches follow the event count, so the same --seed and "
        "--start-at on a fresh home give byte-identical stage files",
    )
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
    add_stage_arguments(parser)
    add_kafka_arguments(parser, "sink")
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


def simulate_main(argv: Sequence[str] | None = None) -> int:
    parser = simulate_parser()
    args = parser.parse_args(argv)
    if args.replay and (args.events is not None or args.backfill or args.start_at):
        parser.error(
            "--replay streams its file to the end; it takes no --events, --backfill or --start-at"
        )
    return run_guarded(lambda stop: _simulate(args, stop), lambda: _settings(args))


def _settings(args: argparse.Namespace):
    from snowcart.settings import Settings

    return Settings.locate(args.target, args.home)


def _simulate(args: argparse.Namespace, stop: threading.Event) -> int:
    from snowcart.engines import engine_for
    from snowcart.loop.pipeline import Pipeline
    from snowcart.loop.status import StatusBoard
    from snowcart.settings import Settings
    from snowcart.sources.generator import Faults, ShopGenerator
    from snowcart.sources.producer import Producer
    from snowcart.stages.local import LocalStage

    settings = with_kafka(with_stage(Settings.resolve(args.target, args.home), args), args, "sink")
    check_writable(settings.home, settings.home / "target", settings.stage_dir)
    warehouse = engine_for(settings).open_warehouse()
    try:
        print(f"snowcart: target={settings.target} home={settings.home}", flush=True)
        replay = None
        if args.replay:
            from snowcart.sources.replay import ColumnMapping, Replay

            replay = Replay(Path(args.replay), ColumnMapping.parse(args.replay_columns))
        warehouse.setup()
        faults = Faults(**{name: getattr(args, name) for name in FAULT_FLAGS})
        stage = LocalStage(settings.stage_dir)
        if settings.s3_stage is not None:
            from snowcart.stages.s3 import S3Stage

            stage = S3Stage(settings.s3_stage)
        if settings.kafka is not None:
            from snowcart.settings import landing_tables
            from snowcart.stages.kafka import KafkaSink

            stage = KafkaSink(settings.kafka, landing_tables(settings.project_dir))
        producer = Producer(
            ShopGenerator(seed=args.seed, faults=faults),
            stage,
            settings.ledger_path,
            settings.producer_state_path,
        )
        # A batch a crash interrupted is finished first, also when this run only
        # drains (--events 0): otherwise its files already staged would have no
        # ledger lines, and its other files would never be written.
        producer.recover()
        if producer.state.last_end is not None and replay is None and args.events != 0:
            # History is only made on a fresh home: say so instead of ignoring it.
            for flag, value in (("--backfill", args.backfill), ("--start-at", args.start_at)):
                if value:
                    shown = f"{value:g}" if isinstance(value, float) else value
                    print(
                        f"snowcart: {flag} {shown} ignored: this home has history already, "
                        "and the shop continues where its last batch ended "
                        "(use a new --home to start over)",
                        flush=True,
                    )
        if replay is not None:
            speed = args.speed

            def produce(stop: threading.Event) -> None:
                replay.run(producer, speed, stop)

        elif args.events == 0:
            produce = None
        else:

            def produce(stop: threading.Event) -> None:
                producer.run(
                    args.events,
                    args.rate,
                    stop,
                    backfill_days=args.backfill,
                    start_at=args.start_at,
                )

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
