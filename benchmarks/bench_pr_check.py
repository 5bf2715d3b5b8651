"""7. Slim CI: `make pr-check` for a one-mart change. In a clone of this
checkout (its main = the working tree), a branch adds one report mart over
`fct_sales`; pr-check compares with main's state, builds and tests the new
mart deferring to main, then runs the conventions check.
The first run builds main's state (git worktree, a 3,000-event warehouse,
`dbt parse`); later runs reuse it from artifacts/pr-check/<merge base>/."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import PROJECT_DIR, Figure, Section, log

MART = "rpt_bench_revenue_by_ship_country"
MART_SQL = """select
    ship_country_code,
    count(distinct order_id) as order_count,
    cast(sum(net_revenue) as {{ sql_type('money') }}) as net_revenue
from {{ ref('fct_sales') }}
group by ship_country_code
"""
MART_YAML = f"""version: 2

models:
  - name: {MART}
    description: Orders and net revenue per ship-to country.
    columns:
      - name: ship_country_code
        data_type: varchar
        description: ISO code of the ship-to country.
        data_tests: [unique, not_null]
      - name: order_count
        data_type: bigint
        description: Distinct orders.
      - name: net_revenue
        data_type: decimal(38, 4)
        description: Net revenue.
"""
SKIPPED = (".git", ".venv", ".snowcart", "target", "artifacts", "logs", "build")
GOAL_S = 60.0


@dataclass(frozen=True)
class PrCheckConfig:
    runs: int
    # Smoke mode: the cold run stops after the selection (`--list-only`): it still
    # builds main's state, and the warm runs do the build and the conventions check.
    cold_list_only: bool = False
    # Smoke mode: run.py runs this section beside sections 1-6, not after them (it
    # has its own clone, state and processes; its times are then not comparable).
    beside_others: bool = False


def _git(clone: Path, env: dict[str, str], *args: str) -> None:
    subprocess.run(
        ["git", "-c", "user.email=bench@example.com", "-c", "user.name=bench", *args],
        cwd=clone, env=env, check=True, capture_output=True,
    )  # fmt: skip


def clone_with_new_mart(workdir: Path, env: dict[str, str]) -> Path:
    """This checkout's working tree committed as main, plus a branch adding one mart."""
    clone = workdir / "pr-check-clone"
    shutil.rmtree(clone, ignore_errors=True)
    subprocess.run(["git", "clone", "-q", str(PROJECT_DIR), str(clone)], env=env, check=True)
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_DIR, env=env, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for relative in filter(None, listed):
        if relative.split("/")[0] in SKIPPED:
            continue
        source, copy = PROJECT_DIR / relative, clone / relative
        if source.is_file():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy)
        elif copy.exists():
            copy.unlink()
    _git(clone, env, "remote", "remove", "origin")
    _git(clone, env, "add", "-A")
    _git(clone, env, "commit", "-q", "--allow-empty", "-m", "main")
    _git(clone, env, "branch", "-M", "main")
    _git(clone, env, "checkout", "-q", "-b", "one-mart")
    folder = clone / "models" / "marts" / "reporting"
    (folder / f"{MART}.sql").write_text(MART_SQL, encoding="utf-8")
    (folder / f"{MART}.yml").write_text(MART_YAML, encoding="utf-8")
    _git(clone, env, "add", "-A")
    _git(clone, env, "commit", "-q", "-m", "one mart")
    return clone


def timed_pr_check(clone: Path, environ: dict[str, str], *args: str) -> float:
    env = {**environ, "SNOWCART_PROJECT_DIR": str(clone), "SNOWCART_REPORTER_ROLE": ""}
    for name in ("SNOWCART_HOME", "SNOWCART_TARGET", "DBT_TARGET_PATH", "DBT_PROFILES_DIR"):
        env.pop(name, None)
    command = [sys.executable, str(PROJECT_DIR / "scripts" / "pr_check.py"), *args]
    started = time.perf_counter()
    result = subprocess.run(command, cwd=clone, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - started
    if result.returncode != 0 or MART not in result.stdout:
        raise RuntimeError(f"pr-check failed:\n{result.stdout[-2000:]}\n{result.stderr[-1500:]}")
    return seconds


def run(config: PrCheckConfig, workdir: Path, environ: dict[str, str] | None = None) -> Section:
    """`environ`: the environment for its processes (default: this process's now;
    beside other sections, a copy taken before they start changing it)."""
    env = dict(os.environ if environ is None else environ)
    clone = clone_with_new_mart(workdir, env)
    cold_args = ("--list-only",) if config.cold_list_only else ()
    cold_command = " ".join(("pr-check", *cold_args))
    cold = timed_pr_check(clone, env, *cold_args)
    log(f"{cold_command} cold (builds main's state): {cold:.1f} s")
    warm = []
    for index in range(config.runs):
        warm.append(timed_pr_check(clone, env))
        log(f"pr-check warm, run {index + 1}/{config.runs}: {warm[-1]:.1f} s")
    shutil.rmtree(clone, ignore_errors=True)
    return Section(
        title="7. Slim CI: make pr-check",
        method=[
            "A clone of the checkout (main = the working tree) with a branch adding one "
            f"report mart over `fct_sales` (`{MART}`, SQL + YAML with a unique key test). "
            "`python scripts/pr_check.py` (what `make pr-check` runs): merge base, state "
            "comparison (`state:modified+`), `dbt build` of the selected nodes with `--defer "
            "--favor-state` into a scratch DuckDB file beside main's attached, read-only "
            "warehouse, then the conventions check (`make conventions`: dbt parse + dbt-score).",
            "Cold: the first run, which also builds main's state once per merge base (a git "
            "worktree, a 3,000-event simulation, `dbt parse`)"
            + (
                "; here with `--list-only`, so it stops after the selection and the build and "
                "conventions check run in the warm runs only"
                if config.cold_list_only
                else ""
            )
            + ". Warm: the runs after it, reusing that state from "
            "`artifacts/pr-check/<merge base>/`.",
            *(
                ["This section ran beside sections 1-6, sharing the machine with them."]
                if config.beside_others
                else []
            ),
        ],
        figures=[
            Figure(f"{cold_command}, cold (main's state built)", "s", [cold], digits=1),
            Figure(
                "pr-check, warm (state cached)",
                "s",
                warm,
                target=f"< {GOAL_S:.0f} s",
                threshold=GOAL_S,
                digits=1,
                lower_is_better=True,
            ),  # fmt: skip
        ],
    )
