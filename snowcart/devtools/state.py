"""Main's dbt state for pr-check: its manifest (what "modified" is measured
against) and, on DuckDB, a small warehouse built from it (what unmodified
parents are read from), made once per merge base in a git worktree and
cached under artifacts/pr-check/<merge base>/."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from snowcart.devtools.dbt_process import checked, run_dbt
from snowcart.devtools.git import worktree
from snowcart.errors import BuildError, ConfigError

# Main's warehouse: a small, reproducible shop (3,000 events, seconds to build).
MAIN_SIMULATION = ("--events", "3000", "--rate", "0", "--seed", "1")
MAIN_START = "2026-01-01T00:00:00Z"
# The catalog main's relations carry in its manifest (the dev profile's file stem),
# under which the pr profile target attaches main's warehouse.
MAIN_CATALOG = "warehouse"
COMPLETE = "complete"


@dataclass(frozen=True)
class State:
    """Where the comparison and the deferral read from."""

    manifest_dir: Path | None  # None: no manifest, build everything
    warehouse: Path | None  # DuckDB only: main's relations
    origin: str  # said to the user


def has_manifest(folder: Path) -> bool:
    return (folder / "manifest.json").is_file()


def manifest_catalogs(folder: Path) -> set[str]:
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    return {
        node["database"]
        for node in manifest.get("nodes", {}).values()
        if node.get("resource_type") == "model" and node.get("database")
    }


def _simulate(tree: Path, home: Path, env: dict[str, str]) -> None:
    """Build main's warehouse: the worktree's project, a fresh home."""
    command = [sys.executable, str(tree / "scripts" / "simulate.py"), *MAIN_SIMULATION]
    command += ["--start-at", MAIN_START, "--home", str(home), "--target", "dev"]
    run_env = {**env, "SNOWCART_PROJECT_DIR": str(tree), "SNOWCART_HOME": str(home)}
    run_env.pop("DBT_TARGET_PATH", None)
    result = subprocess.run(
        command, cwd=tree, env=run_env, capture_output=True, text=True, timeout=1800
    )
    if result.returncode != 0:
        lines = (result.stderr or result.stdout).strip().splitlines() or ["no output"]
        raise BuildError(f"building main's warehouse failed: {lines[-1]}")


def _parse(tree: Path, target: str, state_dir: Path, env: dict[str, str], vars_: str) -> None:
    args = ["parse", "--target", target, "--quiet"]
    if vars_:
        args += ["--vars", vars_]
    result = run_dbt(args, tree, state_dir, env, capture=True)
    checked(result, f"dbt parse of main ({target})", state_dir)


def build_main_state(
    project_dir: Path,
    commit: str,
    cache: Path,
    target: str,
    env: dict[str, str],
    with_warehouse: bool,
) -> State:
    """Main's manifest parsed for `target` (and, `with_warehouse`, main's
    DuckDB warehouse), from a worktree of `commit`; cached in `cache`."""
    state_dir = cache / f"state-{target}"
    home = cache / "home"
    done = [state_dir / COMPLETE] + ([home / COMPLETE] if with_warehouse else [])
    short = commit[:12]
    if all(marker.exists() for marker in done):
        return State(state_dir, home / "warehouse.duckdb" if with_warehouse else None,
                     f"main at {short}, cached in {cache}")  # fmt: skip
    print(f"pr-check: building main's state at {short} in a git worktree (once per merge base)")
    with worktree(project_dir, commit, cache / "worktree") as tree:
        if with_warehouse and not (home / COMPLETE).exists():
            shutil.rmtree(home, ignore_errors=True)
            _simulate(tree, home, env)
            (home / COMPLETE).touch()
        if not (state_dir / COMPLETE).exists():
            shutil.rmtree(state_dir, ignore_errors=True)
            _parse(tree, target, state_dir, {**env, "SNOWCART_HOME": str(home)}, "")
            (state_dir / COMPLETE).touch()
    return State(state_dir, home / "warehouse.duckdb" if with_warehouse else None,
                 f"main at {short}, built in {cache}")  # fmt: skip


def given_state(folder: Path) -> State:
    """--state DIR: a production manifest (or none yet: build everything)."""
    if not folder.is_dir():
        raise ConfigError(f"--state {folder}: no such folder")
    if not has_manifest(folder):
        return State(None, None, f"no manifest.json in {folder}")
    warehouse = folder / "warehouse.duckdb"
    return State(folder, warehouse if warehouse.exists() else None, f"the manifest in {folder}")


def check_catalog(state: State) -> None:
    """DuckDB deferral resolves main's relations through the attached catalog."""
    if state.manifest_dir is None:
        return
    catalogs = manifest_catalogs(state.manifest_dir)
    if catalogs and catalogs != {MAIN_CATALOG}:
        raise ConfigError(
            f"the state's models live in catalog(s) {', '.join(sorted(catalogs))}, "
            f"not {MAIN_CATALOG!r} (the dev target's warehouse.duckdb): deferral cannot find them"
        )
