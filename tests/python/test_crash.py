"""Exactly-once under crashes: SIGKILL the pipeline at random points while it
streams, restart it each time, drain, and reconcile every count.

A kill point is a target on the pipeline's observed progress, read from its
home folder (stage files, ledger lines, dbt's compiled files, the warehouse and
serving files), never a wall-clock delay: on a loaded machine a delay of a few
seconds lands every kill before the first file is staged, and the test proves
nothing. The trials go round the phases in turn, so every phase is hit."""

from __future__ import annotations

import os
import random
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
from conftest import PROJECT_DIR, run, staged_order_lines

# One kill in each phase by default; `make soak` runs 100.
TRIALS = int(os.environ.get("SNOWCART_CRASH_TRIALS", "6"))
POLL_S = 0.05
# Generous: a healthy pipeline reaches any kill point in seconds, even when busy.
TRIAL_TIMEOUT_S = 240.0

Reached = Callable[[], bool]
# A step of a kill point: given the home, takes its baseline now and returns the
# test for "progressed far enough since".
Step = Callable[[Path], Reached]


def staged_files(home: Path) -> int:
    return sum(1 for path in (home / "stage").glob("*/*.ndjson*") if not path.name.startswith("."))


def ledger_lines(home: Path) -> int:
    try:
        return (home / "ledger.ndjson").read_bytes().count(b"\n")
    except FileNotFoundError:
        return 0


def dbt_files_written_since(home: Path, since_ns: int) -> int:
    """Files dbt wrote under target/ since then: each node it compiles or runs
    writes one, so this counts a build's progress."""
    written = 0
    for path in (home / "target").rglob("*.sql"):
        try:
            written += path.stat().st_mtime_ns > since_ns
        except FileNotFoundError:
            continue
    return written


def file_version(path: Path) -> tuple[int, int, int] | None:
    try:
        stat = path.stat()
    except FileNotFoundError:
        return None
    return (stat.st_ino, stat.st_size, stat.st_mtime_ns)


def staged(count: int) -> Step:
    def start(home: Path) -> Reached:
        floor = staged_files(home) + count
        return lambda: staged_files(home) >= floor

    return start


def ledger(count: int) -> Step:
    def start(home: Path) -> Reached:
        floor = ledger_lines(home) + count
        return lambda: ledger_lines(home) >= floor

    return start


def dbt_writes(count: int) -> Step:
    def start(home: Path) -> Reached:
        since_ns = time.time_ns()
        return lambda: dbt_files_written_since(home, since_ns) >= count

    return start


def publications(count: int) -> Step:
    """`count` new serving files swapped in (each mart refresh publishes one)."""

    def start(home: Path) -> Reached:
        seen = [file_version(home / "serving.duckdb")]

        def reached() -> bool:
            version = file_version(home / "serving.duckdb")
            if version is not None and version != seen[-1]:
                seen.append(version)
            return len(seen) > count

        return reached

    return start


def warehouse_commit() -> Step:
    """The next write to the warehouse (its file or write-ahead log)."""

    def start(home: Path) -> Reached:
        paths = [home / "warehouse.duckdb", home / "warehouse.duckdb.wal"]
        before = [file_version(path) for path in paths]
        return lambda: [file_version(path) for path in paths] != before

    return start


def publishing() -> Step:
    """A publication under way: its temporary serving file exists."""

    def start(home: Path) -> Reached:
        return lambda: (home / ".serving.duckdb.tmp").exists()

    return start


@dataclass(frozen=True)
class KillPoint:
    phase: str  # what the pipeline is most likely doing when it is killed
    steps: tuple[Step, ...]


def kill_point(phase: str, chooser: random.Random) -> KillPoint:
    """A random target within a phase. A restart first recovers an interrupted
    batch and builds every model, so early targets land in the recovery, the
    setup and the initial build, later ones in the streaming cycles."""
    steps: dict[str, tuple[Step, ...]] = {
        "initial dbt build": (dbt_writes(chooser.randint(1, 100)),),
        "generation and staging": (staged(chooser.randint(1, 30)),),
        "ledger and checkpoint": (ledger(chooser.randint(1, 30)),),
        "load (the cycle after a publication)": (
            publications(chooser.randint(1, 2)),
            warehouse_commit(),
        ),
        "streaming dbt build": (publications(1), dbt_writes(chooser.randint(1, 6))),
        "publication": (publications(chooser.randint(0, 1)), publishing()),
    }
    return KillPoint(phase, steps[phase])


PHASES = (
    "initial dbt build",
    "generation and staging",
    "ledger and checkpoint",
    "load (the cycle after a publication)",
    "streaming dbt build",
    "publication",
)


SIMULATE = ("scripts/simulate.py", "--rate", "3000", "--seed", "11")


def kill_at(
    point: KillPoint, home: Path, log_path: Path, deadline: float, *flags: str,
    command: tuple[str, ...] = SIMULATE,
) -> None:  # fmt: skip
    """Start the pipeline (`command` with `flags`), wait for the kill point, SIGKILL it."""
    env = {**os.environ, "SNOWCART_HOME": str(home)}
    env.pop("SNOWCART_TARGET", None)
    with open(log_path, "w") as log:
        pipeline = subprocess.Popen(
            [sys.executable, *command, *flags],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        for step in point.steps:
            reached = step(home)
            while not reached():
                if pipeline.poll() is not None:
                    raise AssertionError(
                        f"the pipeline exited ({pipeline.returncode}) before the kill point "
                        f"{point.phase!r}:\n{log_path.read_text()[-3000:]}"
                    )
                if time.monotonic() > deadline:
                    raise AssertionError(
                        f"no progress to the kill point {point.phase!r} in {TRIAL_TIMEOUT_S:.0f} s "
                        f"(stage files {staged_files(home)}, ledger lines {ledger_lines(home)}):\n"
                        f"{log_path.read_text()[-3000:]}"
                    )
                time.sleep(POLL_S)
    finally:
        pipeline.kill()
        pipeline.wait()


def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path):
    chooser = random.Random(20261123)
    home = tmp_path / "home"
    phases = [PHASES[trial % len(PHASES)] for trial in range(TRIALS)]
    chooser.shuffle(phases)
    for trial, phase in enumerate(phases):
        started = time.monotonic()
        deadline = started + TRIAL_TIMEOUT_S
        kill_at(kill_point(phase, chooser), home, tmp_path / f"trial-{trial}.log", deadline)
        print(f"trial {trial}: killed in {phase} after {time.monotonic() - started:.1f} s")

    drained = run([sys.executable, "scripts/simulate.py", "--events", "0"], home=home)
    assert drained.returncode == 0, drained.stderr
    reconciled = run([sys.executable, "scripts/reconcile.py"], home=home)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr

    # Independently of the pipe's bookkeeping: every order line in the stage
    # files is in fct_sales exactly once.
    lines = staged_order_lines(home / "stage")
    assert lines, "the trials produced nothing; the test proves nothing"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (rows, distinct_ids) = con.execute(
            "select count(*), count(distinct order_line_id) from analytics.fct_sales"
        ).fetchone()
        (raw_rows,) = con.execute("select count(*) from raw.orders").fetchone()
    assert rows == distinct_ids == len(lines)
    staged_events = sum(
        1 for path in (home / "stage" / "orders").glob("*.ndjson") for _ in path.open()
    )
    assert raw_rows == staged_events
