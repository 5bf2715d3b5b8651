"""The one interface over the two places Snowcart runs, embedded DuckDB and
Snowflake: what the loop asks of a warehouse, what a dashboard asks of a
reader, and the values they hand back. Imports no engine and nothing heavy;
`snowcart.engines.engine_for` picks the implementation."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    import pandas as pd

    from snowcart.engines.dbt_runner import Dbt


@dataclass
class LoadReport:
    """What one pass of the pipe did."""

    files: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    # Loaded names that reappeared with other content (not reloaded, reported).
    files_skipped: int = 0
    files_by_table: dict[str, int] = field(default_factory=dict)

    def __iadd__(self, other: LoadReport) -> LoadReport:
        self.files += other.files
        self.rows_loaded += other.rows_loaded
        self.rows_rejected += other.rows_rejected
        self.files_skipped += other.files_skipped
        for table, count in other.files_by_table.items():
            self.files_by_table[table] = self.files_by_table.get(table, 0) + count
        return self


class Warehouse(Protocol):
    """Where staged files are loaded and dbt builds the models."""

    def setup(self) -> None:
        """Create what the pipe needs (landing tables, load metadata). Idempotent."""

    def ingest(self) -> LoadReport:
        """Load every staged file not loaded before; each file at most once."""

    def build(self) -> None:
        """Run dbt over what was loaded; raises BuildError if any node fails."""

    def pending_files(self) -> int:
        """Staged files not yet loaded."""

    def totals(self) -> dict[str, float]:
        """Headline numbers of the marts, for the run summary."""

    # ---- for the scheduler (snowcart/scheduler.py) and the live status

    dbt: Dbt
    # True when the engine refreshes the dynamic-table marts itself (Snowflake).
    refreshes_marts_itself: bool

    def consumers_with_data(self) -> list[str]:
        """Stream-consuming models that have unconsumed rows."""

    def stream_backlog(self) -> int | None:
        """Unconsumed rows over every stream (None: the engine cannot count them)."""

    def record_refresh(
        self, job: str, started_at: float, duration_s: float, status: str, rows: int,
        error: str | None,
    ) -> None:  # fmt: skip
        """Log one scheduler job run (ops.refresh_log)."""

    def publish(self, marts: list[str]) -> None:
        """Make the refreshed marts visible to readers (the serving layer)."""

    def quarantined(self) -> int | None:
        """Rows held in quarantine."""

    def freshness_lag_s(self) -> float | None:
        """Seconds from the newest order visible in the live mart to now."""

    def close(self) -> None: ...


class NotReady(Exception):
    """The marts cannot be read yet: a clear message for the reader, not a traceback."""


class MartQuery(Protocol):
    """Run one SELECT with `?` placeholders; columns come back lower-case."""

    def __call__(self, sql: str, params: Sequence[object] = ()) -> pd.DataFrame: ...


class MartReader(ABC):
    """Where the report marts come from. `open()` gives one consistent view of
    them for one refresh of the dashboard."""

    description: str
    # ops.refresh_log and ops.mart_freshness: only the embedded serving layer has them.
    has_ops_tables: bool = False

    @abstractmethod
    def open(self) -> AbstractContextManager[MartQuery]:
        """A query function over one publication; raises NotReady when there is none."""


def normalise(frame: pd.DataFrame) -> pd.DataFrame:
    """Same dtypes from both engines: Decimal as float, dates as datetime64."""
    import pandas as pd

    for column in frame.columns:
        values = frame[column]
        if values.dtype != object or values.isna().all():
            continue
        sample = values.dropna().iloc[0]
        if isinstance(sample, Decimal):
            frame[column] = values.astype(float)
        elif isinstance(sample, date):
            frame[column] = pd.to_datetime(values)
    return frame


class Engine(Protocol):
    """One engine's factory: everything the commands open on it."""

    def open_warehouse(self) -> Warehouse:
        """The read-write warehouse the pipeline owns."""

    def open_reader(self) -> MartReader:
        """A read-only view of the marts (the dashboard, BI)."""
