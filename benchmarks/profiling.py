"""Where the time goes: a sampling profile (pyinstrument when installed, else
cProfile's top functions) and, for the pipe, time per SQL statement."""

from __future__ import annotations

import cProfile
import io
import pstats
import re
import time
from collections.abc import Callable
from typing import Any

MAX_LINES = 45


def profile_call(action: Callable[[], Any]) -> tuple[str, str]:
    """Run `action` once under a profiler; returns (profiler name, text report)."""
    try:
        from pyinstrument import Profiler
    except ImportError:
        return "cProfile", _cprofile(action)
    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        action()
    finally:
        profiler.stop()
    text = profiler.output_text(unicode=False, color=False, show_all=False)
    # Drop pyinstrument's banner; keep the call tree.
    lines = [line for line in text.splitlines() if line.strip()]
    start = next((i for i, line in enumerate(lines) if line.startswith("Profile at")), -1)
    return "pyinstrument", _clip(lines[start + 1 :])


def hotspots(action: Callable[[], Any], count: int = 6) -> list[tuple[str, float]]:
    """The functions with the most *self* time under cProfile: (name, share of total).

    cProfile's per-call overhead inflates call-heavy Python code, so shares are
    indicative; the sampling profile next to it is the better picture."""
    profiler = cProfile.Profile()
    profiler.runcall(action)
    stats = pstats.Stats(profiler).stats  # {(file, line, name): (cc, nc, tottime, cumtime, _)}
    total = sum(entry[2] for entry in stats.values()) or 1.0
    top = sorted(stats.items(), key=lambda item: -item[1][2])[:count]
    return [(_function_name(key), entry[2] / total) for key, entry in top]


def _function_name(key: tuple[str, int, str]) -> str:
    filename, line, name = key
    if filename == "~":  # built-in
        return name.strip("<>")
    return f"{name} ({filename.rsplit('/', 1)[-1]}:{line})"


def _cprofile(action: Callable[[], Any]) -> str:
    profiler = cProfile.Profile()
    profiler.runcall(action)
    out = io.StringIO()
    stats = pstats.Stats(profiler, stream=out).strip_dirs().sort_stats("cumulative")
    stats.print_stats(25)
    return _clip([line for line in out.getvalue().splitlines() if line.strip()])


def _clip(lines: list[str]) -> str:
    if len(lines) > MAX_LINES:
        lines = [*lines[:MAX_LINES], f"... ({len(lines) - MAX_LINES} more lines)"]
    return "\n".join(lines)


class TimedConnection:
    """Wraps a DuckDB connection and adds up the time of each kind of SQL statement.

    Only for a profiling run: DuckDB's replacement scans (a query naming a Python
    variable) look in the caller's frame, which this wrapper changes."""

    def __init__(self, con: Any) -> None:
        self._con = con
        self.seconds: dict[str, float] = {}
        self.calls: dict[str, int] = {}

    def execute(self, sql: str, *args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return self._con.execute(sql, *args, **kwargs)
        finally:
            key = statement_kind(sql)
            self.seconds[key] = self.seconds.get(key, 0.0) + time.perf_counter() - started
            self.calls[key] = self.calls.get(key, 0) + 1

    def __getattr__(self, name: str) -> Any:
        return getattr(self._con, name)

    def table(self, total_s: float) -> str:
        rows = sorted(self.seconds.items(), key=lambda item: -item[1])
        accounted = sum(self.seconds.values())
        lines = [f"{'seconds':>8} {'share':>6} {'calls':>5}  statement"]
        for key, seconds in rows:
            lines.append(f"{seconds:8.3f} {seconds / total_s:6.1%} {self.calls[key]:5d}  {key}")
        outside = total_s - accounted
        lines.append(f"{outside:8.3f} {outside / total_s:6.1%}        (Python outside SQL calls)")
        return "\n".join(lines)


def statement_kind(sql: str) -> str:
    """A short, stable label for a SQL statement: its start (up to a nested SELECT)
    and the functions it calls; numbered temp tables are folded into one label."""
    text = re.sub(r"staged_lines_\d+", "staged_lines_N", " ".join(sql.split()))
    nested = re.search(r".\bselect\b", text, flags=re.IGNORECASE)
    head = text[: nested.start() + 1].strip() if nested else text
    if len(head) > 64:
        head = head[:61] + "..."
    if nested:
        head += " select ..."
    functions = list(dict.fromkeys(re.findall(r"\b([a-z_]+)\(", text.lower())))
    return head + (f" [calls {', '.join(functions)}]" if functions else "")
