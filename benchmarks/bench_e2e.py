"""3. End-to-end slice: `scripts/simulate.py --events N --rate 0` on a fresh home, as a
user runs it (own process: imports, warehouse setup, generation, stage, pipe, dbt
builds, drain). Wall time, events/s and peak RSS."""

from __future__ import annotations

import re
import resource
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb

from benchmarks.bench_scaling import SHARED_HOME, SIMULATION_EVENTS
from benchmarks.common import PROJECT_DIR, Figure, Section, log
from snowcart.settings import landing_tables, raw_schema

GNU_TIME = Path("/usr/bin/time")


@dataclass(frozen=True)
class EndToEndConfig:
    events: int
    runs: int
    # Smoke mode: the last run's home, a simulation like the one sections 5 and 6
    # start from (bench_scaling.simulated_home), is kept as their shared one.
    share_simulation: bool = False


@dataclass(frozen=True)
class SliceRun:
    seconds: float
    peak_rss_mib: float
    builds: str
    rows_loaded: int


def loaded_rows(home: Path) -> int:
    """Rows in the landing tables after the run, read from the warehouse itself."""
    con = duckdb.connect(str(home / "warehouse.duckdb"), read_only=True)
    try:
        return sum(
            con.execute(f"select count(*) from {raw_schema()}.{table}").fetchone()[0]
            for table in landing_tables()
        )
    finally:
        con.close()


def simulate_run(home: Path, events: int, keep_as: Path | None = None) -> SliceRun:
    """One timed simulation on a fresh home; the home is removed afterwards, or
    moved to `keep_as`."""
    command = [
        sys.executable,
        "scripts/simulate.py",
        "--events",
        str(events),
        "--rate",
        "0",
        "--home",
        str(home),
    ]
    use_gnu_time = GNU_TIME.exists()
    if use_gnu_time:
        command = [str(GNU_TIME), "-v", *command]
    started = time.perf_counter()
    result = subprocess.run(
        command, cwd=PROJECT_DIR, capture_output=True, text=True, timeout=1800, check=False
    )
    seconds = time.perf_counter() - started
    if result.returncode != 0:
        raise RuntimeError(f"simulate.py failed ({result.returncode}):\n{result.stderr[-2000:]}")
    loaded = loaded_rows(home)
    if loaded == 0:
        raise RuntimeError(f"simulate.py loaded nothing:\n{result.stdout[-2000:]}")
    builds = re.search(r"(\d+) dbt builds", result.stdout)
    rss = re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr)
    # Without GNU time: the maximum over every child so far, an upper bound for this run.
    children_peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    peak_kib = int(rss.group(1)) if rss else children_peak
    if keep_as is None:
        shutil.rmtree(home, ignore_errors=True)
    else:
        home.rename(keep_as)
    return SliceRun(seconds, peak_kib / 1024, builds.group(1) if builds else "?", loaded)


def run(config: EndToEndConfig, workdir: Path) -> Section:
    if config.share_simulation and config.events != SIMULATION_EVENTS:
        raise ValueError(f"a shared simulation has {SIMULATION_EVENTS:,} events")
    runs = []
    for index in range(config.runs):
        last = index == config.runs - 1
        keep = workdir / SHARED_HOME if config.share_simulation and last else None
        runs.append(simulate_run(workdir / f"e2e-home-{index}", config.events, keep))
        log(
            f"end-to-end run {index + 1}/{config.runs}: {runs[-1].seconds:.2f} s, "
            f"peak RSS {runs[-1].peak_rss_mib:,.0f} MiB"
        )
    builds = sorted({r.builds for r in runs})
    loaded = sorted({r.rows_loaded for r in runs})
    return Section(
        title="3. End-to-end slice",
        method=[
            f"{config.runs} runs of `python scripts/simulate.py --events {config.events:,} "
            "--rate 0 --home <fresh tmp>`, each its own process, timed from start to exit: "
            "Python and dbt start-up, warehouse setup, generation, staging, pipe loads, "
            f"dbt builds ({', '.join(builds)} per run), drain and summary. Rows in the landing "
            f"tables after each run: {', '.join(f'{n:,}' for n in loaded)} (read back from the "
            "warehouse); events/s is `--events` over the wall time.",
            "Peak RSS from "
            + ("`/usr/bin/time -v`." if GNU_TIME.exists() else "`getrusage(RUSAGE_CHILDREN)`.")
            + " No §5 target applies here (freshness is section 4).",
            *(
                ["The last run's home is kept: sections 5 and 6 start from copies of it."]
                if config.share_simulation
                else []
            ),
        ],
        figures=[
            Figure("wall time", "s", [r.seconds for r in runs], digits=2),
            Figure("events/s, whole run", "events/s", [config.events / r.seconds for r in runs]),
            Figure("peak RSS", "MiB", [r.peak_rss_mib for r in runs]),
        ],
    )
