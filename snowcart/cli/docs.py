"""`docs.py`: lineage and column docs for `dbt docs serve`, also while a
pipeline holds the warehouse.

`dbt docs generate` reads column types from the warehouse, which one process
writes at a time. When a pipeline holds it, the same models are built empty
(`dbt build --empty`: the same SQL, no rows) in a scratch home and documented
from there: every model has an enforced contract, so the types are the ones
the warehouse has."""

from __future__ import annotations

import argparse
import shutil
import tempfile
from collections.abc import Sequence
from pathlib import Path

from snowcart.cli.common import OneLineParser, run_guarded

# What `dbt docs serve` serves from target/.
DOCS_FILES = ("index.html", "manifest.json", "catalog.json")


def docs_main(argv: Sequence[str] | None = None) -> int:
    parser = OneLineParser(
        prog="docs.py",
        description=(
            "dbt docs generate into the project's target/ (then: dbt docs serve). "
            "While a pipeline holds the warehouse, the docs come from an empty build "
            "of the same models in a scratch home: the same columns and types, no rows."
        ),
    )
    parser.add_argument("--home", default=None, help="as for simulate.py")
    args = parser.parse_args(argv)
    return run_guarded(lambda stop: _generate(args), lambda: _settings(args))


def _settings(args: argparse.Namespace):
    from snowcart.settings import Settings

    return Settings.locate("dev", args.home)


def _generate(args: argparse.Namespace) -> int:
    from snowcart.settings import Settings

    settings = Settings.resolve("dev", args.home)
    docs_dir = settings.project_dir / "target"
    holder = _holder(settings.warehouse_path)
    if holder is None:
        _dbt(["docs", "generate"], settings.project_dir, docs_dir, settings.home)
    else:
        print(
            f"snowcart: the warehouse is in use by {holder}; documenting an empty build "
            "of the same models instead (same columns and types, no rows)",
            flush=True,
        )
        with tempfile.TemporaryDirectory(prefix="snowcart-docs-") as scratch:
            _document_empty_build(settings.project_dir, Path(scratch), docs_dir)
    print(f"snowcart: docs in {docs_dir}; serve them with: dbt docs serve", flush=True)
    return 0


def _holder(warehouse: Path) -> str | None:
    """Who holds the warehouse, or None when this process can open it."""
    import duckdb

    from snowcart.engines.duckdb.lock import holder, is_lock_error

    try:
        duckdb.connect(str(warehouse)).close()
    except duckdb.IOException as error:
        if not is_lock_error(error):
            raise
        return holder(error)
    return None


def _document_empty_build(project_dir: Path, scratch: Path, docs_dir: Path) -> None:
    target_path = scratch / "target"
    # The build's on-run-start hook creates the landing tables the models read.
    steps = [
        ("empty build", ["build", "--empty", "--exclude-resource-type", "test", "unit_test"]),
        ("docs", ["docs", "generate"]),
    ]
    for number, (what, args) in enumerate(steps, start=1):
        print(f"snowcart: [{number}/{len(steps)}] {what}", flush=True)
        _dbt(args, project_dir, target_path, scratch)
    docs_dir.mkdir(exist_ok=True)
    for name in DOCS_FILES:
        shutil.copy2(target_path / name, docs_dir / name)


def _dbt(args: list[str], project_dir: Path, target_path: Path, home: Path) -> None:
    from snowcart.devtools.dbt_process import checked, run_dbt

    result = run_dbt([*args, "--quiet"], project_dir, target_path, {"SNOWCART_HOME": str(home)})
    checked(result, f"dbt {' '.join(args[:2])}", target_path)
