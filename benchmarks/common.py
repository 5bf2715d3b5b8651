"""Shared pieces: figures as min/median/max over runs, timing, throwaway folders."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeVar

PROJECT_DIR = Path(__file__).resolve().parent.parent
T = TypeVar("T")


@dataclass
class Figure:
    """One measured quantity: a value per run, and optionally a target the median must meet."""

    label: str
    unit: str
    values: list[float]
    target: str = ""
    # The median must be >= threshold to PASS (None: no target applies); with
    # lower_is_better, <= threshold (latencies).
    threshold: float | None = None
    digits: int = 0
    lower_is_better: bool = False

    @property
    def min(self) -> float:
        return min(self.values)

    @property
    def median(self) -> float:
        return statistics.median(self.values)

    @property
    def max(self) -> float:
        return max(self.values)

    @property
    def verdict(self) -> str:
        if self.threshold is None:
            return ""
        if self.lower_is_better:
            return "PASS" if self.median <= self.threshold else "MISS"
        return "PASS" if self.median >= self.threshold else "MISS"

    def fmt(self, value: float) -> str:
        return f"{value:,.{self.digits}f}"

    def show(self, value: float) -> str:
        """The value with its unit, as in running text."""
        return self.fmt(value) + (self.unit if self.unit in ("%", "×") else f" {self.unit}")


@dataclass
class Section:
    """One benchmark area: how it was measured, its figures, notes and profiles."""

    title: str
    method: list[str]
    figures: list[Figure]
    notes: list[str] = field(default_factory=list)
    # (what was profiled, profiler output), recorded for missed targets.
    profiles: list[tuple[str, str]] = field(default_factory=list)

    @property
    def misses(self) -> list[Figure]:
        return [figure for figure in self.figures if figure.verdict == "MISS"]


def timed(action: Callable[[], T]) -> tuple[float, T]:
    """Wall-clock seconds of one call, and what it returned."""
    started = time.perf_counter()
    result = action()
    return time.perf_counter() - started, result


def ratios(numerators: list[float], denominators: list[float]) -> list[float]:
    """Run-by-run ratios (run i over run i), for figures derived from two measurements."""
    return [a / b for a, b in zip(numerators, denominators, strict=True)]


@contextmanager
def scratch_dir(prefix: str) -> Iterator[Path]:
    """A temporary folder, removed afterwards (also on failure)."""
    with tempfile.TemporaryDirectory(prefix=f"snowcart-bench-{prefix}-") as path:
        yield Path(path)


def isolate_dbt(workdir: Path) -> dict[str, str]:
    """Point dbt's target/ and logs/ at a private folder, so benchmarks never touch
    the project's own (which a developer's dbt or a running demo may be using).
    Returns the variables set; they are inherited by subprocesses too."""
    variables = {
        "DBT_TARGET_PATH": str(workdir / "dbt-target"),
        "DBT_LOG_PATH": str(workdir / "dbt-logs"),
    }
    os.environ.update(variables)
    return variables


# Runs a command and prints its own children's peak RSS (KiB) last on stderr: the
# peak of that command alone, without GNU time (not installed everywhere).
_PEAK_RSS_WRAPPER = (
    "import resource, subprocess, sys; "
    "code = subprocess.call(sys.argv[1:]); "
    "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, file=sys.stderr); "
    "sys.exit(code)"
)


def peak_rss_run(
    command: list[str], env: dict[str, str] | None = None, timeout: float = 3600
) -> tuple[float, float, subprocess.CompletedProcess]:
    """Wall seconds, peak resident memory (MiB) and the result of one command."""
    started = time.perf_counter()
    result = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS_WRAPPER, *command],
        cwd=PROJECT_DIR, env={**os.environ, **(env or {})}, capture_output=True, text=True,
        timeout=timeout, check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    lines = result.stderr.strip().splitlines()
    peak_kib = int(lines[-1]) if lines and lines[-1].isdigit() else 0
    return seconds, peak_kib / 1024, result


def log(message: str) -> None:
    """Progress on stderr, so the report on stdout stays clean."""
    print(f"[bench] {message}", file=sys.stderr, flush=True)
