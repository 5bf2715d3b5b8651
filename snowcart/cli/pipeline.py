"""`pipeline.py`: the real-time loop alone, for a producer writing the stage elsewhere."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence

from snowcart.cli.common import (
    OneLineParser,
    add_kafka_arguments,
    add_stage_arguments,
    check_writable,
    run_guarded,
    with_kafka,
    with_stage,
)


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
    add_stage_arguments(parser)
    add_kafka_arguments(parser, "source")
    args = parser.parse_args(argv)
    return run_guarded(lambda stop: _pipeline(args, stop), lambda: _settings(args))


def _settings(args: argparse.Namespace):
    from snowcart.settings import Settings

    return Settings.locate(args.target, args.home)


def _pipeline(args: argparse.Namespace, stop: threading.Event) -> int:
    from snowcart.engines import engine_for
    from snowcart.loop.pipeline import Pipeline
    from snowcart.loop.status import StatusBoard
    from snowcart.settings import Settings

    settings = with_kafka(
        with_stage(Settings.resolve(args.target, args.home), args), args, "source"
    )
    check_writable(settings.home, settings.home / "target")
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
