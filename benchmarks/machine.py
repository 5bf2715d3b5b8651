"""What the figures were measured on, and how busy the machine was meanwhile."""

from __future__ import annotations

import os
import platform
import resource
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path


def _first_value(path: str, key: str) -> str | None:
    try:
        for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
            name, _, value = line.partition(":")
            if name.strip() == key:
                return value.strip()
    except OSError:
        return None
    return None


def cpu_model() -> str:
    return _first_value("/proc/cpuinfo", "model name") or platform.processor() or "unknown"


def ram_gib() -> float | None:
    total = _first_value("/proc/meminfo", "MemTotal")  # "24684084 kB"
    return int(total.split()[0]) / 1024**2 if total else None


def os_name() -> str:
    pretty = _first_value("/etc/os-release", "PRETTY_NAME")
    if pretty is None:
        try:
            for line in Path("/etc/os-release").read_text(encoding="utf-8").splitlines():
                if line.startswith("PRETTY_NAME="):
                    pretty = line.split("=", 1)[1].strip('"')
        except OSError:
            pass
    kernel = f"{platform.system()} {platform.release()}"
    return f"{pretty} ({kernel})" if pretty else kernel


def package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def machine_facts() -> dict[str, str]:
    usable = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    ram = ram_gib()
    return {
        "CPU": cpu_model(),
        "Cores (usable by this process)": f"{usable} (of {os.cpu_count()} online)",
        "RAM": f"{ram:.1f} GiB" if ram else "unknown",
        "OS": os_name(),
        "Python": platform.python_version(),
        "DuckDB": package_version("duckdb"),
        "dbt-core": package_version("dbt-core"),
        "dbt-duckdb": package_version("dbt-duckdb"),
        "NumPy": package_version("numpy"),
    }


def _busy_cpu_seconds() -> float | None:
    """CPU seconds spent by every process on the machine since boot (/proc/stat)."""
    try:
        fields = Path("/proc/stat").read_text(encoding="utf-8").splitlines()[0].split()[1:]
    except (OSError, IndexError):
        return None
    ticks = [int(value) for value in fields[:8]]
    user, nice, system, idle, iowait, irq, softirq, steal = ticks + [0] * (8 - len(ticks))
    busy = user + nice + system + irq + softirq + steal
    return busy / os.sysconf("SC_CLK_TCK")


def _own_cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


@dataclass
class LoadWatch:
    """Load averages before/after, and the share of the machine's CPU capacity that
    *other* processes used while the benchmarks ran (all busy CPU time minus ours)."""

    started_at: datetime
    load_before: tuple[float, float, float]
    wall_started: float
    busy_started: float | None
    own_started: float
    load_after: tuple[float, float, float] | None = None
    wall_s: float = 0.0
    others_share: float | None = None

    @classmethod
    def start(cls) -> LoadWatch:
        return cls(
            started_at=datetime.now(UTC),
            load_before=os.getloadavg(),
            wall_started=time.monotonic(),
            busy_started=_busy_cpu_seconds(),
            own_started=_own_cpu_seconds(),
        )

    def stop(self) -> None:
        self.load_after = os.getloadavg()
        self.wall_s = time.monotonic() - self.wall_started
        busy = _busy_cpu_seconds()
        if busy is not None and self.busy_started is not None and self.wall_s > 0:
            others = (busy - self.busy_started) - (_own_cpu_seconds() - self.own_started)
            capacity = self.wall_s * (os.cpu_count() or 1)
            self.others_share = max(others, 0.0) / capacity

    @property
    def busy(self) -> bool:
        """Whether other work plausibly disturbed the figures."""
        cores = os.cpu_count() or 1
        if self.others_share is not None:  # measured over the run itself
            return self.others_share > 0.05
        return self.load_before[0] > 0.25 * cores

    def describe(self) -> str:
        before = ", ".join(f"{value:.2f}" for value in self.load_before)
        after = ", ".join(f"{value:.2f}" for value in self.load_after or ())
        text = f"load average (1, 5, 15 min) {before} before, {after} after"
        if self.others_share is not None:
            text += (
                f"; other processes used {self.others_share:.1%} of the machine's CPU capacity "
                "during the run"
            )
        return text
