"""The one interface over the two places Snowcart runs, embedded DuckDB and
Snowflake: what the loop asks of a warehouse, what a dashboard asks of a
reader, what setup is asked to create, and the values they hand back.
Imports no engine and nothing heavy;
`snowcart.engines.engine_for` picks the implementation."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Protocol

from snowcart.errors import ConfigError
from snowcart.settings import identifier

if TYPE_CHECKING:
    import threading

    import pandas as pd

    from snowcart.engines.dbt_runner import Dbt
    from snowcart.reconcile import LoadCounts


@dataclass
class LoadReport:
    """What one pass of the pipe did."""

    files: int = 0
    rows_loaded: int = 0
    rows_rejected: int = 0
    # Stage entries newly skipped (not loaded, reported once): loaded names that
    # reappeared with other content, and entries the pipe cannot or must not load.
    files_skipped: int = 0
    files_by_table: dict[str, int] = field(default_factory=dict)
    # One "name: reason" per newly skipped entry.
    skipped: list[str] = field(default_factory=list)

    def __iadd__(self, other: LoadReport) -> LoadReport:
        self.files += other.files
        self.rows_loaded += other.rows_loaded
        self.rows_rejected += other.rows_rejected
        self.files_skipped += other.files_skipped
        self.skipped += other.skipped
        for table, count in other.files_by_table.items():
            self.files_by_table[table] = self.files_by_table.get(table, 0) + count
        return self


@dataclass(frozen=True)
class Lineage:
    """The project's DAG of buildable nodes (models, snapshots, seeds) by name."""

    parents: dict[str, tuple[str, ...]]
    materialized: dict[str, str]
    # Data tests that hold while streaming: not those tagged `at_rest`, which
    # compare models refreshed at different lags (marts against the facts).
    streaming_tests: tuple[str, ...] = ()

    def _walk(self, start: set[str], edges: dict[str, set[str]] | dict[str, tuple]) -> set[str]:
        found, todo = set(), list(start)
        while todo:
            for neighbour in edges.get(todo.pop(), ()):
                if neighbour not in found:
                    found.add(neighbour)
                    todo.append(neighbour)
        return found

    def ancestors(self, names: set[str]) -> set[str]:
        return self._walk(names, self.parents)

    def descendants(self, names: set[str]) -> set[str]:
        children: dict[str, set[str]] = {}
        for name, parents in self.parents.items():
            for parent in parents:
                children.setdefault(parent, set()).add(name)
        return self._walk(names, children)


@dataclass(frozen=True)
class MartDoc:
    """A model's documentation from the manifest: what the mart catalog shows."""

    description: str
    # Column name (lower-case) → its description.
    columns: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class BuildSummary:
    succeeded: int
    failed: list[str]
    # Rows the nodes reported writing (dbt's adapter responses; 0 when unknown).
    rows: int = 0


@dataclass(frozen=True)
class Health:
    """What the pipeline could not use, and what its consumers have not read."""

    load_errors: int  # staged lines the pipe could not land
    quarantined: int  # landed rows staging holds back, each with its reason
    stream_backlog: int  # landed rows the stream consumers have not read yet


# Data tests tagged this compare models refreshed at different lags: they run at rest only.
AT_REST_TAG = "at_rest"


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

    def totals(self) -> dict[str, int | float]:
        """Headline numbers of the marts, for the run summary."""

    # ---- for the scheduler (snowcart/loop/scheduler.py) and the live status

    dbt: Dbt
    # True when the engine refreshes the dynamic-table marts itself (Snowflake).
    refreshes_marts_itself: bool

    def consumers_with_data(self) -> list[str]:
        """Stream-consuming models that have unconsumed rows."""

    def stage_health(self) -> dict[str, int | float | str]:
        """Live-status fields of the stage beyond its file backlog, read after
        `pending_files()` (an S3 stage: its oldest unloaded object, its queue)."""

    def record_health(self) -> Health | None:
        """Count load errors, quarantined rows and stream backlogs, and keep them
        (by table and reason) where readers see them; None: the engine cannot."""

    def record_refresh(
        self, job: str, started_at: float, duration_s: float, status: str, rows: int,
        error: str | None,
    ) -> None:  # fmt: skip
        """Log one scheduler job run (ops.refresh_log)."""

    def publish(self, marts: list[str]) -> None:
        """Make the refreshed marts visible to readers (the serving layer)."""

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

    @abstractmethod
    def mart_catalog(self, query: MartQuery) -> pd.DataFrame:
        """Every published report mart (`rpt_*`), one row each, by name:
        `schema_name` and `mart` spelled as the engine stores them (quote them
        to query the mart), `description`, and `columns`: a JSON list of
        {name, data_type, description} in column order. Empty when none is
        published yet. Read through `query`, from the same publication."""


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


S3_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[A-Za-z0-9!\-_.*()/]*)?$")
AWS_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/\-]+$")


def s3_prefix_url(text: str) -> str:
    """`text` as an s3://bucket/prefix/ URL ending in `/`; ConfigError if it is not one."""
    url = text if text.endswith("/") else text + "/"
    if not S3_URL.match(url):
        raise ConfigError(f"not an s3://bucket/prefix/ URL: {text}")
    return url


def aws_role_arn(text: str) -> str:
    if not AWS_ROLE_ARN.match(text):
        raise ConfigError(f"not an IAM role ARN: {text}")
    return text


@dataclass(frozen=True)
class S3Ingest:
    """Optional auto-ingest from an S3 prefix through a storage integration.
    Checked on creation, as setup writes these values into SQL."""

    url: str
    integration: str
    aws_role_arn: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", s3_prefix_url(self.url))
        identifier(self.integration, "storage integration")
        aws_role_arn(self.aws_role_arn)


@dataclass(frozen=True)
class SetupOptions:
    """What `Engine.setup` is asked to do. The credit quota and S3 ingest
    configure Snowflake objects; the embedded engine has no counterpart to them."""

    dry_run: bool = False
    # Check an account setup has prepared, in a scratch database (Snowflake only).
    verify: bool = False
    # None: the engine's own default (Snowflake's is sized in its plan).
    credit_quota: int | None = None
    s3: S3Ingest | None = None

    def __post_init__(self) -> None:
        if self.credit_quota is None:
            return
        if isinstance(self.credit_quota, bool) or not isinstance(self.credit_quota, int):
            raise ConfigError(f"credit quota must be a whole number, got {self.credit_quota!r}")
        if self.credit_quota < 1:
            raise ConfigError(f"credit quota must be >= 1, got {self.credit_quota}")


class Engine(Protocol):
    """One engine's factory: everything the commands open on it."""

    def setup(self, options: SetupOptions, stop: threading.Event | None = None) -> bool:
        """Create what the pipeline needs on this engine, printing each step as
        it goes; with `options.dry_run`, print what it would create and change
        nothing. Idempotent, never drops data. False if `stop` was set before it
        finished (running it again finishes it)."""

    def open_warehouse(self) -> Warehouse:
        """The read-write warehouse the pipeline owns."""

    def open_reader(self) -> MartReader:
        """A read-only view of the marts (the dashboard, BI)."""

    def open_load_counts(self) -> AbstractContextManager[LoadCounts]:
        """What the warehouse holds of each landing table, for reconcile.py."""
