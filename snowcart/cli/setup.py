"""`setup.py`: create what the pipeline needs on the chosen engine. Idempotent."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snowcart.engines.base import SetupOptions

from snowcart.cli.common import (
    OneLineParser,
    add_topic_arguments,
    checked,
    kafka_settings,
    positive_int,
    run_guarded,
)

# Flags only one target takes, and that target.
SETUP_TARGET_FLAGS = {
    "--s3-url": "snowflake",
    "--storage-integration": "snowflake",
    "--aws-role-arn": "snowflake",
    "--credit-quota": "snowflake",
    "--verify": "snowflake",
    "--kafka-connector-config": "snowflake",
    "--topic-prefix": "snowflake",
    "--topic-map": "snowflake",
    "--home": "dev",
}
S3_FLAGS = ("--s3-url", "--storage-integration", "--aws-role-arn")


def setup_parser() -> argparse.ArgumentParser:
    from snowcart.engines.base import aws_role_arn, s3_prefix_url
    from snowcart.engines.snowflake.plan import CREDIT_QUOTA
    from snowcart.settings import identifier

    parser = OneLineParser(
        prog="setup.py",
        description=(
            "Create what the pipeline needs: embedded counterparts (dev) or Snowflake "
            "objects, roles and grants (snowflake). Idempotent; never drops data."
        ),
    )
    parser.add_argument("--target", choices=["dev", "snowflake"], required=True)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be created (the SQL, for snowflake) and change nothing",
    )
    parser.add_argument(
        "--verify",
        action="store_true",
        default=None,
        help="snowflake: after setup, check the account in a scratch database of its own "
        "(loads, streams, dynamic tables, tasks, roles; dropped at the end); with --dry-run, "
        "print its statements",
    )
    parser.add_argument(
        "--home",
        default=None,
        help="dev: folder for the embedded warehouse and stage "
        "(default: $SNOWCART_HOME or ./.snowcart)",
    )
    parser.add_argument(
        "--credit-quota",
        type=positive_int,
        default=None,
        help="snowflake: monthly credits for the resource monitor (default "
        f"{CREDIT_QUOTA}: a month of streaming with 1-minute marts, docs/snowflake.md)",
    )
    parser.add_argument(
        "--s3-url",
        type=checked(s3_prefix_url),
        default=None,
        help="snowflake: s3://bucket/prefix/ to ingest",
    )
    parser.add_argument(
        "--storage-integration",
        type=checked(lambda text: identifier(text, "storage integration")),
        default=None,
        help="snowflake: storage integration name (S3)",
    )
    parser.add_argument(
        "--aws-role-arn",
        type=checked(aws_role_arn),
        default=None,
        help="snowflake: IAM role Snowflake assumes (S3)",
    )
    connector = parser.add_argument_group("the Snowflake Kafka connector, for Kafka Connect")
    connector.add_argument(
        "--kafka-connector-config",
        nargs="?",
        const="-",
        default=None,
        metavar="PATH",
        help="snowflake: write the connector's configuration (JSON for Kafka Connect's REST "
        "API: Snowpipe Streaming, key-pair auth, every landing table's topic) to PATH, or "
        "stdout with - or no PATH; creates nothing (docs/snowflake.md)",
    )
    add_topic_arguments(connector)
    return parser


def setup_options(parser: argparse.ArgumentParser, args: argparse.Namespace) -> SetupOptions:
    """The engine-neutral SetupOptions from the flags, or a one-line flag error."""
    from snowcart.engines.base import S3Ingest, SetupOptions

    def given(flag: str) -> bool:
        return getattr(args, flag.removeprefix("--").replace("-", "_")) is not None

    for flag, target in SETUP_TARGET_FLAGS.items():
        if given(flag) and args.target != target:
            parser.error(f"{flag} only applies to --target {target}")
    s3_given = [flag for flag in S3_FLAGS if given(flag)]
    if s3_given and len(s3_given) != len(S3_FLAGS):
        missing = [flag for flag in S3_FLAGS if flag not in s3_given]
        parser.error(f"S3 auto-ingest also needs {', '.join(missing)}")
    return SetupOptions(
        dry_run=args.dry_run,
        verify=bool(args.verify),
        credit_quota=args.credit_quota,
        s3=S3Ingest(args.s3_url, args.storage_integration, args.aws_role_arn) if s3_given else None,
    )


def setup_main(argv: Sequence[str] | None = None) -> int:
    parser = setup_parser()
    args = parser.parse_args(argv)
    options = setup_options(parser, args)
    if args.kafka_connector_config is not None:
        return run_guarded(lambda stop: _connector_config(args))
    if args.topic_prefix or args.topic_map:
        parser.error("--topic-prefix and --topic-map go with --kafka-connector-config")
    return run_guarded(lambda stop: _setup(args, options, stop))


def _connector_config(args: argparse.Namespace) -> int:
    import json
    import sys

    from snowcart.engines.snowflake.kafka_connector import connector_config
    from snowcart.engines.snowflake.plan import SnowflakePlan

    # The connector reads the topics from Kafka Connect's own brokers.
    config = connector_config(SnowflakePlan.from_project(), kafka_settings(args, ""))
    text = json.dumps(config, indent=2) + "\n"
    if args.kafka_connector_config == "-":
        sys.stdout.write(text)
    else:
        from pathlib import Path

        Path(args.kafka_connector_config).write_text(text, encoding="utf-8")
        print(
            f"snowcart setup: Kafka connector configuration written to {args.kafka_connector_config}"
        )
    return 0


def _setup(args: argparse.Namespace, options: SetupOptions, stop: threading.Event) -> int:
    from snowcart.engines import engine_for
    from snowcart.settings import Settings

    # locate, not resolve: a dry run creates nothing; the engine prepares what it needs.
    settings = Settings.locate(args.target, args.home)
    return 0 if engine_for(settings).setup(options, stop) else 130
