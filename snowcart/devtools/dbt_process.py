"""dbt as a subprocess of pr-check: each step on its own profile target, home
and target/ folder, so none invalidates another's partial-parse cache."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from snowcart.errors import BuildError

FAILED_STATUSES = ("error", "fail", "runtime error")


def dbt_executable() -> str:
    """The dbt beside the running Python (the project's venv)."""
    beside = Path(sys.executable).parent / "dbt"
    return str(beside) if beside.exists() else "dbt"


def run_dbt(
    args: list[str],
    project_dir: Path,
    target_path: Path,
    env: dict[str, str],
    capture: bool = False,
    timeout: float = 3600,
) -> subprocess.CompletedProcess:
    """`dbt <args>` in `project_dir`, its artifacts in `target_path`; output
    streamed to ours unless `capture`."""
    command = [dbt_executable(), *args, "--project-dir", str(project_dir)]
    command += ["--target-path", str(target_path), "--log-path", str(target_path / "logs")]
    full_env = {**os.environ, **env}
    sys.stdout.flush()
    return subprocess.run(
        command,
        cwd=project_dir,
        env=full_env,
        capture_output=capture,
        text=True,
        timeout=timeout,
    )


def failed_nodes(target_path: Path) -> list[str]:
    """Names of the nodes run_results.json records as failed."""
    path = target_path / "run_results.json"
    if not path.exists():
        return []
    results = json.loads(path.read_text(encoding="utf-8")).get("results", [])
    return [
        result["unique_id"].split(".")[2]
        for result in results
        if result.get("status") in FAILED_STATUSES
    ]


def checked(result: subprocess.CompletedProcess, what: str, target_path: Path) -> None:
    """BuildError naming the failed nodes (or dbt's last error line) when dbt failed."""
    if result.returncode == 0:
        return
    failed = failed_nodes(target_path)
    if failed:
        raise BuildError(f"{what} failed: {', '.join(failed)}", failed_nodes=failed)
    output = (result.stdout or "") + (result.stderr or "")
    lines = [line.strip() for line in output.splitlines() if line.strip()]
    errors = [line for line in lines if "error" in line.lower()]
    detail = (errors or lines or [f"exit code {result.returncode}"])[-1]
    raise BuildError(f"{what} failed: {detail}")
