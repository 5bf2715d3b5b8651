"""Live progress on the terminal (rich), or a compact line per update elsewhere."""

from __future__ import annotations

import sys
import time
from collections import deque
from typing import Any

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table

# Newly skipped stage entries shown a line each; the rest as a count.
SKIPS_SHOWN = 20
# Rates are over the last few seconds: an average since start says 33,571/s
# while streaming at 20/s after a backfill.
RATE_WINDOW_S = 5.0


class Rate:
    """Per-second rate of a growing count over the last RATE_WINDOW_S seconds."""

    def __init__(self, window_s: float = RATE_WINDOW_S) -> None:
        self.window_s = window_s
        self._samples: deque[tuple[float, int]] = deque()

    def add(self, now: float, count: int) -> float | None:
        """Record the count at `now`; the rate since the oldest sample in the
        window (None until two samples are apart)."""
        self._samples.append((now, count))
        # Keep one sample at or before the window's start as the base.
        while len(self._samples) > 2 and self._samples[1][0] <= now - self.window_s:
            self._samples.popleft()
        then, before = self._samples[0]
        return (count - before) / (now - then) if now > then else None


class StatusBoard:
    def __init__(
        self,
        title: str,
        console: Console | None = None,
        plain_every_s: float = 5.0,
        compact: tuple[str, ...] = (),
    ) -> None:
        self.title = title
        self.console = console or Console(stderr=False)
        self.fields: dict[str, Any] = {}
        # name -> (done, total): drawn as bars on a terminal, "done/total" elsewhere.
        self.progress: dict[str, tuple[float, float]] = {}
        # The fields a plain (not a terminal) line shows, when present; all if empty.
        self.compact = compact
        self._live: Live | None = None
        self._plain_every_s = plain_every_s
        self._last_plain = 0.0

    def __enter__(self) -> StatusBoard:
        if self.console.is_terminal:
            self._live = Live(
                self._render(), console=self.console, refresh_per_second=4, transient=False
            )
            self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._live is not None:
            self._live.update(self._render())
            self._live.__exit__(*exc_info)
            self._live = None

    def update(self, **fields: Any) -> None:
        self.fields.update(fields)
        self._refresh()

    def set_progress(self, name: str, done: float, total: float | None) -> None:
        """A bar for a long step (backfill, drain); total None removes it."""
        if total is None:
            self.progress.pop(name, None)
        else:
            self.progress[name] = (done, total)

    def _refresh(self, force: bool = False) -> None:
        if self._live is not None:
            self._live.update(self._render())
        elif force or time.monotonic() - self._last_plain >= self._plain_every_s:
            self._last_plain = time.monotonic()
            print(f"[{self.title}] {self.plain_line()}", file=sys.stdout, flush=True)

    def plain_line(self) -> str:
        shown = [
            (key, value)
            for key, value in self.fields.items()
            if not self.compact or key in self.compact or "failing" in key
        ]
        parts = [f"{key}={_format(value)}" for key, value in shown]
        parts += [
            f"{name}={_fraction(done, total)}" for name, (done, total) in self.progress.items()
        ]
        return "  ".join(parts)

    def final(self) -> None:
        """The whole state once more, every field (after the drain)."""
        if self._live is not None:
            self._live.update(self._render())
            return
        line = "  ".join(f"{key}={_format(value)}" for key, value in self.fields.items())
        print(f"[{self.title}] {line}", file=sys.stdout, flush=True)

    def note(self, message: str) -> None:
        """One event worth a line of its own (a project change), printed at once
        (above the live table on a terminal) and kept as the `last note` field."""
        self.fields["last note"] = message
        if self._live is not None:
            self._live.console.print(f"[{self.title}] {message}", markup=False, highlight=False)
            self._live.update(self._render())
        else:
            print(f"[{self.title}] {message}", file=sys.stdout, flush=True)

    def skipped(self, entries: list[str]) -> None:
        """Stage entries the pipe newly skipped ("name: reason"): a line for each
        of the first few, and the running count in the `stage files skipped` field."""
        if not entries:
            return
        count = self.fields.get("stage files skipped", 0) + len(entries)
        self.fields["stage files skipped"] = count
        for entry in entries[:SKIPS_SHOWN]:
            self.note(f"skipped {entry}")
        if len(entries) > SKIPS_SHOWN:
            self.note(
                f"and {len(entries) - SKIPS_SHOWN:,} more skipped: every one, with its reason, "
                "in ops.load_skips"
            )

    def _render(self) -> Group:
        table = Table(title=self.title, show_header=False, min_width=50)
        table.add_column(style="bold cyan")
        table.add_column(justify="right")
        for key, value in self.fields.items():
            table.add_row(key, _format(value))
        bars = Table.grid(padding=(0, 1))
        for name, (done, total) in self.progress.items():
            bars.add_row(name, ProgressBar(total=max(total, 1), completed=done, width=30),
                         _fraction(done, total))  # fmt: skip
        return Group(table, bars)


def _fraction(done: float, total: float) -> str:
    if total == 1:  # a share of a span (backfill): as a percentage
        return f"{done:.0%}"
    return f"{int(done):,}/{int(total):,}"


def _format(value: Any) -> str:
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
