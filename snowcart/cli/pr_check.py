"""`pr_check.py`: slim CI, locally and in CI (`make pr-check`)."""

from __future__ import annotations

import argparse
import threading
from collections.abc import Sequence
from pathlib import Path

from snowcart.cli.common import OneLineParser, run_guarded


def pr_check_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="pr_check.py",
        description=(
            "Build and test only the dbt nodes this branch modified and their children, "
            "deferring every other ref to main's state (state:modified+ --defer --favor-state), "
            "then run the conventions check. Prints which nodes it selected and why."
        ),
    )
    parser.add_argument(
        "--target",
        default="dev",
        help="profile target (default dev: DuckDB, a scratch file beside main's warehouse; "
        "snowflake: per-PR schemas, needs --schema)",
    )
    parser.add_argument(
        "--schema",
        default=None,
        help="per-PR schema suffix, e.g. pr_123: every schema gets `_pr_123` (Snowflake)",
    )
    parser.add_argument(
        "--state",
        type=Path,
        default=None,
        metavar="DIR",
        help="production state (a folder with manifest.json; an empty one: build everything). "
        "Default: main's, built once per merge base in artifacts/pr-check/",
    )
    parser.add_argument(
        "--base",
        default=None,
        metavar="REF",
        help="compare with the merge base of HEAD and REF (default origin/main, else main)",
    )
    parser.add_argument(
        "--drop-schema",
        action="store_true",
        help="after the build (pass or fail), drop every schema of the PR (--schema)",
    )
    parser.add_argument(
        "--drop-only",
        action="store_true",
        help="only drop the PR's schemas (--schema), build nothing",
    )
    parser.add_argument(
        "--list-only", action="store_true", help="print the selection and why; build nothing"
    )
    parser.add_argument(
        "--no-conventions", action="store_true", help="skip the conventions check at the end"
    )
    return parser


def pr_check_main(argv: Sequence[str] | None = None) -> int:
    args = pr_check_parser().parse_args(argv)
    if (args.drop_schema or args.drop_only) and not args.schema:
        pr_check_parser().error("--drop-schema and --drop-only need --schema")

    def main(stop: threading.Event) -> int:  # noqa: ARG001
        from snowcart.devtools.pr_check import PrCheckOptions, pr_check

        return pr_check(
            PrCheckOptions(
                target=args.target,
                schema=args.schema,
                state=args.state.expanduser().resolve() if args.state else None,
                base=args.base,
                drop_schema=args.drop_schema,
                drop_only=args.drop_only,
                list_only=args.list_only,
                conventions=not args.no_conventions,
            )
        )

    return run_guarded(main)
