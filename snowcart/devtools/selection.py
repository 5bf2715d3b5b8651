"""What pr-check builds and why: `state:modified+` against main's manifest,
each node labelled new, modified, or downstream of the modified nodes it
depends on (tests: which models they test)."""

from __future__ import annotations

import contextlib
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from snowcart.errors import BuildError

BUILDABLE = ("model", "seed", "snapshot", "test", "unit_test")
TESTS = ("test", "unit_test")


@dataclass(frozen=True)
class Node:
    unique_id: str
    resource_type: str
    name: str
    selector: str  # what `dbt build --select` takes for exactly this node
    reason: str


@contextlib.contextmanager
def environment(values: dict[str, str]) -> Iterator[None]:
    """dbt in this process reads env_var() from os.environ."""
    saved = {key: os.environ.get(key) for key in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _ls(runner, common: list[str], select: list[str], keys: list[str]) -> list[dict]:
    args = ["ls", *common, "--resource-type", *BUILDABLE, "--output", "json"]
    args += ["--output-keys", *keys, "--select", *select]
    result = runner.invoke(args)
    if not result.success:
        raise BuildError(f"dbt ls --select {' '.join(select)} failed: {result.exception}")
    return [json.loads(line) for line in result.result or []]


def _state_ids(state_dir: Path) -> set[str]:
    manifest = json.loads((state_dir / "manifest.json").read_text(encoding="utf-8"))
    return set(manifest.get("nodes", {})) | set(manifest.get("unit_tests", {}))


def list_nodes(
    project_dir: Path,
    profiles_dir: Path,
    target: str,
    target_path: Path,
    state_dir: Path | None,
    env: dict[str, str],
    vars_: str = "",
) -> list[Node]:
    """Every node `dbt build --select state:modified+` would run (all of them
    without a state), with the reason it is selected."""
    from dbt.cli.main import dbtRunner

    common = ["--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir)]
    common += ["--target", target, "--target-path", str(target_path), "--quiet"]
    common += ["--log-path", str(target_path / "logs")]
    if vars_:
        common += ["--vars", vars_]
    # dbt ls prints every node it lists, even with --quiet: we print our own view.
    with environment(env), contextlib.redirect_stdout(io.StringIO()):
        parsed = dbtRunner().invoke(["parse", *common])
        if not parsed.success:
            raise BuildError(f"dbt parse failed: {parsed.exception}")
        runner = dbtRunner(manifest=parsed.result)
        keys = ["unique_id", "resource_type", "name", "fqn", "depends_on"]
        if state_dir is None:
            listed = _ls(runner, common, ["*"], keys)
            return [_node(entry, "no main state: everything is built") for entry in listed]
        state = ["--state", str(state_dir)]
        listed = _ls(runner, [*common, *state], ["state:modified+"], keys)
        modified = {
            e["unique_id"] for e in _ls(runner, [*common, *state], ["state:modified"], keys[:1])
        }
    return explain(listed, modified, _state_ids(state_dir))


def _selector(entry: dict) -> str:
    return ".".join(entry["fqn"])


def _node(entry: dict, reason: str) -> Node:
    return Node(entry["unique_id"], entry["resource_type"], entry["name"], _selector(entry), reason)


def explain(listed: list[dict], modified: set[str], in_state: set[str]) -> list[Node]:
    """Label each selected node: new / modified, `tests X`, `downstream of X`."""
    by_id = {entry["unique_id"]: entry for entry in listed}
    names = {uid: entry["name"] for uid, entry in by_id.items()}

    def modified_ancestors(uid: str) -> list[str]:
        seen: set[str] = set()
        stack = list(by_id[uid]["depends_on"].get("nodes", []))
        found = []
        while stack:
            parent = stack.pop()
            if parent in seen or parent not in by_id:
                continue
            seen.add(parent)
            if parent in modified:
                found.append(names[parent])
            stack.extend(by_id[parent]["depends_on"].get("nodes", []))
        return sorted(found)

    nodes = []
    for uid, entry in by_id.items():
        if uid in modified:
            reason = "modified" if uid in in_state else "new"
        elif entry["resource_type"] in TESTS:
            parents = entry["depends_on"].get("nodes", [])
            reason = "tests " + ", ".join(sorted(names.get(p, p.split(".")[-1]) for p in parents))
        else:
            reason = "downstream of " + (", ".join(modified_ancestors(uid)) or "a modified node")
        nodes.append(_node(entry, reason))
    order = {kind: index for index, kind in enumerate(BUILDABLE)}
    return sorted(nodes, key=lambda node: (order.get(node.resource_type, 9), node.name))
