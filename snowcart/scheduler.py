"""The real-time loop's task scheduler: one dbt invocation at a time, in-process.

Each cycle it loads new stage files, then

- **transform**: when a stream has data (or the last transform failed), builds
  the models downstream of the consumers that have something to read
  (incremental staging, snapshots, dimensions, facts), without tests and
  without the dynamic-table marts;
- **marts**: refreshes every dynamic-table mart whose `target_lag` is due and
  whose inputs changed since its last refresh, then publishes them to the
  serving layer (embedded only: Snowflake refreshes dynamic tables itself);
- **tests**: runs the data tests every `test_every_s`.

A failing job is logged in ops.refresh_log, shown in the status and retried
with exponential back-off; loading goes on meanwhile, and stream offsets only
move when the consuming model commits.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from snowcart.backends import LoadReport
from snowcart.errors import BuildError

MAX_BACKOFF_S = 30.0
PROJECT = "snowcart"  # the dbt project name, prefix of every model's unique_id


@dataclass
class Job:
    """One kind of dbt work, with its retry state."""

    name: str
    failures: int = 0
    retry_at: float = 0.0
    last_error: str | None = None
    last_success: float | None = None
    last_duration_s: float = 0.0

    def ready(self, now: float) -> bool:
        return now >= self.retry_at

    def succeeded(self, now: float, duration_s: float) -> None:
        self.failures, self.retry_at, self.last_error = 0, 0.0, None
        self.last_success, self.last_duration_s = now, duration_s

    def failed(self, now: float, error: str) -> None:
        self.failures += 1
        self.last_error = error
        self.retry_at = now + min(2.0 ** (self.failures - 1), MAX_BACKOFF_S)


@dataclass
class Mart:
    """A dynamic-table mart: refreshed when its lag is due and its inputs moved."""

    name: str
    lag_s: float
    refreshed_at: float | None = None
    refreshed_version: int = -1
    # A failing mart backs off on its own; the others keep refreshing.
    failures: int = 0
    retry_at: float = 0.0

    def due(self, now: float, data_version: int) -> bool:
        if self.refreshed_version >= data_version or now < self.retry_at:
            return False
        return self.refreshed_at is None or now - self.refreshed_at >= self.lag_s


@dataclass
class CycleReport:
    loaded: LoadReport = field(default_factory=LoadReport)
    transformed: bool = False
    marts_refreshed: list[str] = field(default_factory=list)
    tested: bool = False


class Scheduler:
    def __init__(
        self,
        warehouse,
        marts: list[Mart],
        test_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.warehouse = warehouse
        self.marts = marts
        self.test_every_s = test_every_s
        self.clock = clock
        self.transform = Job("transform")
        self.refresh = Job("marts")
        self.tests = Job("tests")
        # Bumped by every successful transform; marts refresh only when it moved.
        self.data_version = 0
        self._transform_owed = True  # the facts may lag the landing tables at start
        self._tests_last_run = clock()
        self._rows_since_run: dict[str, int] = {}

    @property
    def jobs(self) -> list[Job]:
        return [self.transform, self.refresh, self.tests]

    def cycle(self) -> CycleReport:
        report = CycleReport(loaded=self.warehouse.ingest())
        for job in self.jobs:  # rows each job's next run has to process
            self._rows_since_run[job.name] = (
                self._rows_since_run.get(job.name, 0) + report.loaded.rows_loaded
            )
        self._transform(report)
        self._refresh_marts(report)
        self._test(report)
        return report

    def _transform(self, report: CycleReport) -> None:
        consumers = self.warehouse.consumers_with_data()
        now = self.clock()
        if not (consumers or self._transform_owed) or not self.transform.ready(now):
            return
        # Marts whose lag falls due by the time the facts are built ride along in
        # the same dbt invocation (dbt orders them after the facts): one run's
        # overhead instead of two.
        ready_at = now + self.transform.last_duration_s
        riding = [] if self.warehouse.refreshes_marts_itself else [
            mart for mart in self.marts if mart.due(ready_at, self.data_version + 1)
        ]  # fmt: skip
        staying = [mart.name for mart in self.marts if mart not in riding]
        selectors = [f"{model}+" for model in consumers] or ["path:models", "path:snapshots"]
        args = [
            "build", "--select", *selectors, *(mart.name for mart in riding),
            "--exclude", "config.materialized:view", *staying,
            "--exclude-resource-type", "test", "unit_test",
        ]  # fmt: skip
        outcome = marts_outcome = self._run(self.transform, args)
        mart_ids = {f"model.{PROJECT}.{mart.name}" for mart in self.marts}
        if outcome is not None and outcome[0] and outcome[0] <= mart_ids:
            # Only riding marts failed: the transform itself is fine, the marts
            # back off on their own (the refresh job shows the error).
            self.refresh.failures += 1
            self.refresh.last_error = self.transform.last_error
            self.transform.succeeded(self.clock(), self.clock() - now)
            outcome = (set(), outcome[1])
        # A failed model is retried (with back-off) even when no stream has data;
        # what did build still moves the marts on.
        self._transform_owed = outcome != (set(), set())
        if outcome is not None:
            self.data_version += 1
            report.transformed = True
            self._marts_done(riding, marts_outcome, report)

    def _refresh_marts(self, report: CycleReport) -> None:
        if self.warehouse.refreshes_marts_itself or not self.refresh.ready(self.clock()):
            return
        due = [mart for mart in self.marts if mart.due(self.clock(), self.data_version)]
        if not due:
            return
        outcome = self._run(self.refresh, ["run", "--select", *(mart.name for mart in due)])
        if outcome is not None:
            self._marts_done(due, outcome, report)
            if any(mart.refreshed_version == self.data_version for mart in due):
                self.refresh.retry_at = 0.0  # the failing marts back off on their own

    def _marts_done(
        self, marts: list[Mart], outcome: tuple[set[str], set[str]], report: CycleReport
    ) -> None:
        """Record which marts a run refreshed; publish them. A failed mart backs
        off on its own and keeps its last good publication; a skipped one (its
        input failed) just waits for the next run."""
        failed, skipped = outcome
        now, refreshed = self.clock(), []
        for mart in marts:
            unique_id = f"model.{PROJECT}.{mart.name}"
            if unique_id in failed:
                mart.failures += 1
                mart.retry_at = now + min(2.0 ** (mart.failures - 1), MAX_BACKOFF_S)
            elif unique_id not in skipped:
                mart.refreshed_at, mart.refreshed_version = now, self.data_version
                mart.failures, mart.retry_at = 0, 0.0
                refreshed.append(mart.name)
        if refreshed:
            self.warehouse.publish([mart.name for mart in self.marts])
            report.marts_refreshed += refreshed
        if not any(mart.failures for mart in self.marts):
            self.refresh.failures, self.refresh.last_error = 0, None

    def _test(self, report: CycleReport) -> None:
        now = self.clock()
        if now - self._tests_last_run < self.test_every_s or not self.tests.ready(now):
            return
        self._tests_last_run = now
        outcome = self._run(self.tests, ["test", "--exclude-resource-type", "unit_test"])
        report.tested = outcome == (set(), set())

    def _run(self, job: Job, args: list[str]) -> tuple[set[str], set[str]] | None:
        """Run dbt: the unique_ids of failed and of skipped nodes (both empty when
        all succeeded), or None when no node ran."""
        started = self.clock()
        wall_started = time.time()
        rows, self._rows_since_run[job.name] = self._rows_since_run.get(job.name, 0), 0
        try:
            self.warehouse.dbt.invoke(*args)
        except BuildError as error:
            job.failed(self.clock(), str(error))
            self.warehouse.record_refresh(
                job.name, wall_started, self.clock() - started, "error", rows, str(error)
            )
            if not error.failed_nodes:
                return None
            return set(error.failed_nodes), set(error.skipped_nodes)
        duration = self.clock() - started
        job.succeeded(self.clock(), duration)
        self.warehouse.record_refresh(job.name, wall_started, duration, "success", rows, None)
        return set(), set()

    def mart_ages(self) -> dict[str, float | None]:
        now = self.clock()
        return {
            mart.name: None if mart.refreshed_at is None else round(now - mart.refreshed_at, 1)
            for mart in self.marts
        }
