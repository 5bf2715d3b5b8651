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
        return args

    def invoke(self, *command: str) -> BuildSummary:
        result = self._runner.invoke(self._args(list(command)))
        if result.exception is not None:
            raise BuildError(f"dbt {command[0]} failed: {result.exception}")
        node_results = getattr(result.result, "results", None) or []
        failed = [
            f"{node.node.unique_id if node.node else '?'} ({node.status})"
            for node in node_results
            if str(node.status) in {"error", "fail", "runtime error"}
        ]
        if not result.success and not failed:
            failed = ["dbt reported failure (see logs/dbt.log)"]
        summary = BuildSummary(succeeded=len(node_results) - len(failed), failed=failed)
        if failed:
            raise BuildError(f"dbt {command[0]} failed: {', '.join(failed)}")
        return summary

    def build(self, *selectors: str) -> BuildSummary:
        args = ["build"]
        if selectors:
            args += ["--select", *selectors]
        return self.invoke(*args)

    def run_operation(self, macro: str) -> BuildSummary:
        return self.invoke("run-operation", macro)
