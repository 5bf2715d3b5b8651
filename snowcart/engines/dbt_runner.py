"""dbt, invoked in this process, parsing the project once and again only when
one of its files (or a SNOWCART_/DBT_ variable) changes."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

from dbt.cli.main import dbtRunner

from snowcart.engines.base import AT_REST_TAG, BuildSummary, Lineage, MartDoc
from snowcart.errors import BuildError
from snowcart.settings import Settings, vars_from_environment

# What a parse reads: a change to any of these invalidates the parsed manifest.
PROJECT_FOLDERS = ("models", "macros", "snapshots", "seeds", "tests/dbt", "analyses")
PROJECT_FILES = ("dbt_project.yml", "profiles.yml", "packages.yml", "selectors.yml")


def project_fingerprint(project_dir: Path) -> tuple:
    """Size and mtime of every file a parse reads, plus the variables models may
    read through env_var(): cheap to take (a few hundred stat calls)."""
    stats = []
    paths = [project_dir / name for name in PROJECT_FILES]
    for folder in PROJECT_FOLDERS:
        paths += sorted((project_dir / folder).rglob("*"))
    for path in paths:
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        stats.append((str(path), stat.st_size, stat.st_mtime_ns))
    variables = sorted(
        (key, value) for key, value in os.environ.items() if key.startswith(("SNOWCART_", "DBT_"))
    )
    return (tuple(stats), tuple(variables))


HEADER = re.compile(r"^[A-Z][A-Za-z ]*Error in \w+ ")


def _first_line(message: object) -> str:
    """What dbt said about a failed node, on one line: a disk-full or overflow
    cause then reaches the user's one-line error (and cli.common.explain)."""
    lines = [line.strip() for line in str(message).splitlines() if line.strip()]
    # "Runtime Error in model x (path)" only repeats the node: the cause follows.
    causes = [line for line in lines if not HEADER.match(line)] or lines
    return causes[0][:200] if causes else ""


class Dbt:
    def __init__(self, settings: Settings, quiet: bool = True) -> None:
        self.settings = settings
        self.quiet = quiet
        self._runner = dbtRunner()
        self._manifest = None
        self._fingerprint: tuple | None = None
        # Bumped by every parse: a reader of the manifest (the loop's lineage,
        # the serving layer's catalog) reads it again when this moved.
        self.manifest_version = 0
        self._failed_parse: tuple[tuple, str] | None = None

    def _parsed_runner(self) -> dbtRunner:
        """A runner holding the parsed project. Reading the partial-parse cache
        again on every invocation costs ~0.4 s, a third of a small run; the
        project is parsed again only when a file or variable changed."""
        fingerprint = project_fingerprint(self.settings.project_dir)
        if self._manifest is None or fingerprint != self._fingerprint:
            if self._failed_parse is not None and self._failed_parse[0] == fingerprint:
                # A file half-saved by its editor: parse again once it changes.
                raise BuildError(self._failed_parse[1])
            result = dbtRunner().invoke(self._args(["parse"]))
            if result.exception is not None or not result.success:
                message = f"dbt parse failed: {result.exception}"
                self._failed_parse = (fingerprint, message)
                raise BuildError(message)
            self._failed_parse = None
            self._manifest, self._fingerprint = result.result, fingerprint
            self._runner = dbtRunner(manifest=self._manifest)
            self.manifest_version += 1
        return self._runner

    def current_version(self) -> int:
        """The manifest version after parsing again if a project file changed
        since the last parse (a few hundred stat calls when nothing did)."""
        self._parsed_runner()
        return self.manifest_version

    def _args(self, command: list[str]) -> list[str]:
        args = [*command, "--project-dir", str(self.settings.project_dir)]
        args += ["--target", self.settings.target]
        if not os.environ.get("DBT_PROFILES_DIR"):
            args += ["--profiles-dir", str(self.settings.project_dir)]
        if self.quiet:
            args += ["--quiet"]
        if variables := vars_from_environment():
            args += ["--vars", json.dumps(variables)]
        # The loop's runs need no manifest.json / run_results.json on disk (the
        # results come back in-process); writing them costs seconds per run.
        args += ["--no-write-json"]
        return args

    def invoke(self, *command: str) -> BuildSummary:
        result = self._parsed_runner().invoke(self._args(list(command)))
        if result.exception is not None:
            raise BuildError(f"dbt {command[0]} failed: {result.exception}")
        node_results = getattr(result.result, "results", None) or []
        failed_results = [
            node for node in node_results if str(node.status) in {"error", "fail", "runtime error"}
        ]
        failed_nodes = [
            node.node.unique_id for node in failed_results if getattr(node, "node", None)
        ]
        failed = [
            f"{node.node.unique_id if getattr(node, 'node', None) else '?'} ({node.status}"
            + (f": {_first_line(node.message)})" if getattr(node, "message", None) else ")")
            for node in failed_results
        ]
        if not result.success and not failed:
            failed = ["dbt reported failure (see logs/dbt.log)"]
        rows = sum(
            int((getattr(node, "adapter_response", None) or {}).get("rows_affected") or 0)
            for node in node_results
        )
        summary = BuildSummary(succeeded=len(node_results) - len(failed), failed=failed, rows=rows)
        if failed:
            skipped_nodes = [
                node.node.unique_id
                for node in node_results
                if str(node.status) == "skipped" and getattr(node, "node", None)
            ]
            raise BuildError(
                f"dbt {command[0]} failed: {', '.join(failed)}", failed_nodes, skipped_nodes
            )
        return summary

    def build(self, *selectors: str) -> BuildSummary:
        args = ["build"]
        if selectors:
            args += ["--select", *selectors]
        return self.invoke(*args)

    def dynamic_tables(self) -> dict[str, str | None]:
        """Each dynamic-table model's name and the lag the embedded scheduler keeps
        for it: `meta.embedded_target_lag` (Snowflake's `target_lag` cannot go
        below 60 s; the embedded engine refreshes faster), else its target_lag."""
        self._parsed_runner()
        return {
            node.name: (node.config.meta or {}).get("embedded_target_lag")
            or node.config.get("target_lag")
            for node in self._manifest.nodes.values()
            if node.resource_type == "model" and node.config.materialized == "dynamic_table"
        }

    def refresh_modes(self) -> dict[str, str]:
        """Each dynamic-table model's stated `refresh_mode` (AUTO when it states none)."""
        self._parsed_runner()
        return {
            node.name: str(node.config.get("refresh_mode") or "AUTO")
            for node in self._manifest.nodes.values()
            if node.resource_type == "model" and node.config.materialized == "dynamic_table"
        }

    def lineage(self) -> Lineage:
        self._parsed_runner()
        buildable = {
            unique_id: node
            for unique_id, node in self._manifest.nodes.items()
            if node.resource_type in ("model", "snapshot", "seed")
        }
        return Lineage(
            parents={
                node.name: tuple(
                    buildable[parent].name
                    for parent in getattr(node.depends_on, "nodes", [])
                    if parent in buildable
                )
                for node in buildable.values()
            },
            materialized={node.name: node.config.materialized for node in buildable.values()},
            streaming_tests=tuple(
                sorted(
                    node.name
                    for node in self._manifest.nodes.values()
                    if node.resource_type == "test" and AT_REST_TAG not in node.tags
                )
            ),
        )

    def checksums(self) -> dict[str, str]:
        """Each buildable node's name and the checksum of its file (SQL, CSV): a
        node whose checksum moved between two parses was changed."""
        self._parsed_runner()
        return {
            node.name: node.checksum.checksum
            for node in self._manifest.nodes.values()
            if node.resource_type in ("model", "snapshot", "seed")
        }

    def model_docs(self, names: set[str]) -> dict[str, MartDoc]:
        """Description and column descriptions of the named models (the report
        marts' catalog), from the manifest as last parsed (the loop parses again
        when a file changes; a publication need not look)."""
        if self._manifest is None:
            self._parsed_runner()
        return {
            node.name: MartDoc(
                description=(node.description or "").strip(),
                columns={
                    column.name.lower(): (column.description or "").strip()
                    for column in node.columns.values()
                },
            )
            for node in self._manifest.nodes.values()
            if node.resource_type == "model" and node.name in names
        }

    def run_operation(self, macro: str) -> BuildSummary:
        return self.invoke("run-operation", macro)
