"""dbt, invoked in this process (partial parsing keeps repeat runs cheap)."""

from __future__ import annotations

import os
from dataclasses import dataclass

from dbt.cli.main import dbtRunner

from snowcart.errors import BuildError
from snowcart.settings import Settings


@dataclass(frozen=True)
class BuildSummary:
    succeeded: int
    failed: list[str]
    # Rows the nodes reported writing (dbt's adapter responses; 0 when unknown).
    rows: int = 0


class Dbt:
    def __init__(self, settings: Settings, quiet: bool = True) -> None:
        self.settings = settings
        self.quiet = quiet
        self._runner = dbtRunner()

    def _args(self, command: list[str]) -> list[str]:
        args = [*command, "--project-dir", str(self.settings.project_dir)]
        args += ["--target", self.settings.target]
        if not os.environ.get("DBT_PROFILES_DIR"):
            args += ["--profiles-dir", str(self.settings.project_dir)]
        if self.quiet:
            args += ["--quiet"]
        # The loop's runs need no manifest.json / run_results.json on disk (the
        # results come back in-process); writing them costs seconds per run.
        args += ["--no-write-json"]
        return args

    def invoke(self, *command: str) -> BuildSummary:
        result = self._runner.invoke(self._args(list(command)))
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
            f"{node.node.unique_id if getattr(node, 'node', None) else '?'} ({node.status})"
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
        """Each dynamic-table model's name and its target_lag, from the parsed project."""
        result = self._runner.invoke(self._args(["parse"]))
        if result.exception is not None or not result.success:
            raise BuildError(f"dbt parse failed: {result.exception}")
        return {
            node.name: node.config.get("target_lag")
            for node in result.result.nodes.values()
            if node.resource_type == "model" and node.config.materialized == "dynamic_table"
        }

    def run_operation(self, macro: str) -> BuildSummary:
        return self.invoke("run-operation", macro)
