"""`make pr-check`: slim CI on a laptop (and in CI). Compare the checkout with
main's dbt state, build and test only the modified nodes and their children,
deferring every other ref to main, then run the conventions check.

DuckDB (`--target dev`): main's state is built once per merge base (a git
worktree, a small simulated shop) and attached read-only to a scratch file
the PR builds into. Snowflake: the PR builds into schemas suffixed with
`_<schema>` (generate_schema_name, var pr_schema), deferring to production's
manifest, and `--drop-schema` drops them afterwards."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from snowcart.devtools import git
from snowcart.devtools.dbt_process import checked, run_dbt
from snowcart.devtools.profiles import PR_TARGET, adapter_type, profiles_dir
from snowcart.devtools.selection import Node, list_nodes
from snowcart.devtools.state import (
    State,
    build_main_state,
    check_catalog,
    given_state,
)
from snowcart.errors import ConfigError
from snowcart.settings import PROJECT_DIR, identifier, vars_from_environment

SCRATCH_DATABASE = "pr_scratch.duckdb"


@dataclass(frozen=True)
class PrCheckOptions:
    target: str = "dev"
    schema: str | None = None  # per-PR schema suffix (Snowflake)
    state: Path | None = None  # --state DIR; None: main's, built on demand
    base: str | None = None  # --base REF; None: origin/main, else main
    drop_schema: bool = False  # drop the PR's schemas after the build
    drop_only: bool = False  # only drop them
    list_only: bool = False  # print the selection, build nothing
    conventions: bool = True
    project_dir: Path = PROJECT_DIR


def _say(message: str) -> None:
    print(f"pr-check: {message}", flush=True)


# The catalog name main's warehouse is attached under in the `pr` target.
MAIN_CATALOG = "warehouse"


def _vars(options: PrCheckOptions, raw_from_main: bool = False) -> str:
    """`pr_schema`: the per-PR schema suffix (Snowflake). `raw_database`: on
    DuckDB the landing tables are read from main's attached warehouse (dbt
    never defers sources; the scratch file's own landing tables are empty)."""
    values = vars_from_environment()
    if options.schema:
        values["pr_schema"] = options.schema
    if raw_from_main:
        values["raw_database"] = MAIN_CATALOG
    return json.dumps(values) if values else ""


def print_selection(nodes: list[Node], all_built: bool) -> None:
    if all_built:
        counts: dict[str, int] = {}
        for node in nodes:
            counts[node.resource_type] = counts.get(node.resource_type, 0) + 1
        summary = ", ".join(f"{count} {kind}s" for kind, count in counts.items())
        _say(f"no production manifest to compare with: building EVERYTHING ({summary})")
        return
    if not nodes:
        _say("nothing modified since main: nothing to build")
        return
    _say(f"{len(nodes)} nodes selected (state:modified+); every other ref is deferred to main:")
    width = max(len(node.name) for node in nodes)
    for node in nodes:
        print(f"  {node.resource_type:<9} {node.name:<{width}}  {node.reason}")


def locate_state(options: PrCheckOptions, root: Path, embedded: bool, env: dict) -> State:
    """--state DIR, else main's state at the merge base (cached). On DuckDB
    the deferral also needs main's warehouse: from DIR, else built."""
    commit = None
    if options.state is None or (embedded and not (options.state / "warehouse.duckdb").exists()):
        ref = git.main_ref(root, options.base)
        commit = git.merge_base(root, ref)
    cache = options.project_dir / "artifacts" / "pr-check" / (commit or "given")
    if options.state is not None:
        state = given_state(options.state)
        if state.manifest_dir is None or state.warehouse is not None or not embedded:
            return state
        # A production manifest without its warehouse: main's, built at the merge base.
        built = build_main_state(root, commit, cache, "dev", env, with_warehouse=True)
        return State(
            state.manifest_dir, built.warehouse, f"{state.origin}, relations from {built.origin}"
        )
    return build_main_state(
        root, commit, cache, "dev" if embedded else options.target, env, with_warehouse=embedded
    )


def build(options: PrCheckOptions, nodes: list[Node], state: State, env: dict, scratch: Path,
          profiles: Path, embedded: bool) -> Path:  # fmt: skip
    """`dbt build` of exactly the selected nodes, deferring the rest to main."""
    target_path = scratch / "target-build"
    args = ["build", "--profiles-dir", str(profiles)]
    if state.manifest_dir is None:
        args += ["--target", options.target]
    else:
        args += ["--select", *[node.selector for node in nodes]]
        args += ["--defer", "--favor-state", "--state", str(state.manifest_dir)]
        args += ["--target", PR_TARGET if embedded else options.target]
    raw_from_main = embedded and state.warehouse is not None and state.manifest_dir is not None
    if options.schema or raw_from_main:
        args += ["--vars", _vars(options, raw_from_main)]
    build_env = dict(env)
    if embedded and state.warehouse is not None:
        build_env["SNOWCART_PR_WAREHOUSE"] = str(state.warehouse)
    _say(f"dbt {' '.join(args[:1] + args[3:])}")
    result = run_dbt(args, options.project_dir, target_path, build_env)
    checked(result, "dbt build", target_path)
    return target_path


def drop_schemas(options: PrCheckOptions, profiles: Path, scratch: Path, env: dict) -> None:
    args = ["run-operation", "drop_pr_schemas", "--profiles-dir", str(profiles)]
    args += ["--target", options.target, "--args", json.dumps({"suffix": options.schema})]
    args += ["--vars", _vars(options)]
    _say(f"dropping every schema ending in _{options.schema} on {options.target}")
    target_path = scratch / "target-drop"
    result = run_dbt(args, options.project_dir, target_path, env)
    checked(result, "drop_pr_schemas", target_path)


def run_conventions(project_dir: Path) -> None:
    """`make conventions` (dbt-score), or say clearly that there is none yet."""
    probe = subprocess.run(
        ["make", "-n", "conventions"], cwd=project_dir, capture_output=True, text=True
    )
    if probe.returncode != 0 and "No rule to make target" in probe.stderr:
        _say("conventions check SKIPPED: this checkout has no `make conventions` target")
        return
    _say("conventions: make conventions")
    # The venv already exists (we run in it): never let make reinstall it.
    venv = Path(sys.prefix)
    done = subprocess.run(
        ["make", "--no-print-directory", f"VENV={venv}", "-o", "install"]
        + ["-o", str(venv / ".installed"), "conventions"],
        cwd=project_dir,
    )
    if done.returncode != 0:
        raise ConfigError("the conventions check failed (make conventions): see above")


def pr_check(options: PrCheckOptions) -> int:
    root = git.repository_root(options.project_dir)
    scratch = options.project_dir / "artifacts" / "pr-check" / "scratch"
    scratch.mkdir(parents=True, exist_ok=True)
    profiles = profiles_dir(options.project_dir, scratch)
    embedded = adapter_type(profiles, options.target) == "duckdb"
    if options.schema:
        identifier(options.schema, "--schema")
    elif not embedded:
        raise ConfigError(
            f"--target {options.target} builds in per-PR schemas: pass --schema pr_<number>"
        )
    env = {"DBT_PROFILES_DIR": str(profiles), "SNOWCART_HOME": str(scratch / "home")}
    if options.drop_only:
        drop_schemas(options, profiles, scratch, env)
        return 0
    state = locate_state(options, root, embedded, env)
    if embedded:
        check_catalog(state)
    _say(f"state: {state.origin}")
    # Compared on the target main's state was parsed with (same catalog names).
    select_target = "dev" if embedded else options.target
    nodes = list_nodes(options.project_dir, profiles, select_target, scratch / "target-select",
                       state.manifest_dir, env, _vars(options))  # fmt: skip
    print_selection(nodes, all_built=state.manifest_dir is None)
    if options.list_only:
        return 0
    if embedded:
        shutil.rmtree(scratch / "home", ignore_errors=True)
        (scratch / "home").mkdir(parents=True)
    try:
        if nodes:
            target_path = build(options, nodes, state, env, scratch, profiles, embedded)
            _say(f"built and tested; run_results.json in {target_path}")
    finally:
        if options.drop_schema and options.schema:
            drop_schemas(options, profiles, scratch, env)
    if options.conventions:
        run_conventions(options.project_dir)
    return 0
