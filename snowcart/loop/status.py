"""Live progress on the terminal (rich), or a plain line per update elsewhere."""

from __future__ import annotations

import sys
import time
from typing import Any

from rich.console import Console
from rich.live import Live
from rich.table import Table

# Newly skipped stage entries shown a line each; the rest as a count.
SKIPS_SHOWN = 20


class StatusBoard:
    def __init__(
        self, title: str, console: Console | None = None, plain_every_s: float = 5.0
    ) -> None:
        self.title = title
        self.console = console or Console(stderr=False)
        self.fields: dict[str, Any] = {}
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
        if self._live is not None:
            self._live.update(self._render())
        elif time.monotonic() - self._last_plain >= self._plain_every_s:
            self._last_plain = time.monotonic()
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

    def _render(self) -> Table:
        table = Table(title=self.title, show_header=False, min_width=50)
        table.add_column(style="bold cyan")
        table.add_column(justify="right")
        for key, value in self.fields.items():
            table.add_row(key, _format(value))
        return table


def _format(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:,.2f}"
    if isinstance(value, int):
        return f"{value:,}"
    return str(value)
