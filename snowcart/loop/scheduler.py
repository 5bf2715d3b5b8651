"""The real-time loop's task scheduler: one dbt invocation at a time, in-process.

Each cycle it loads new stage files, then

- **transform**: models downstream of a stream with data become stale; the
  dynamic-table marts whose `target_lag` falls due ride along with the stale
  models upstream of them, in one dbt build without tests (so the live mart's
  inputs are built every cycle, the busiest streams at the slower marts' pace),
  then the refreshed marts are published to the serving layer (on Snowflake,
  which refreshes dynamic tables itself, every stale model is built);
- **marts**: refreshes a due mart whose inputs changed since its last refresh
  when no transform took it along;
- **tests**: runs the data tests that hold while streaming every
  `test_every_s`, a slice per cycle (all of them run at the drain).

A failing job is logged in ops.refresh_log, shown in the status and retried
with exponential back-off; loading goes on meanwhile, and stream offsets only
move when the consuming model commits. When the project changes while the loop
runs, `update_project` takes its new lineage and marts (snowcart/loop/project.py).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

from snowcart.engines.base import Lineage, LoadReport
from snowcart.errors import BuildError

MAX_BACKOFF_S = 30.0
TESTS_PER_SLICE = 10
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
        lineage: Lineage,
        test_every_s: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.warehouse = warehouse
        self.marts = marts
        self.lineage = lineage
        self.test_every_s = test_every_s
        self.clock = clock
        self.transform = Job("transform")
        self.refresh = Job("marts")
        self.tests = Job("tests")
        # Bumped by every successful transform; marts refresh only when it moved.
        self.data_version = 0
        # Models whose inputs changed since they were built. At start, all of
        # them: the initial build may have failed, or the landing tables moved on.
        self._stale = self._buildable(set(lineage.parents))
        self._tests_last_run = clock()
        self._tests_queue: list[str] = []
        self._tests_round_error: str | None = None
        self._rows_since_run: dict[str, int] = {}

    def update_project(self, marts: list[Mart], lineage: Lineage, to_build: set[str]) -> None:
        """The project changed while the loop runs: schedule from its new lineage
        and marts. A mart still there keeps its state (refreshes, back-off); a new
        one was never built, so it is due at once; `to_build` (new and changed
        nodes) and what reads them become stale, and a changed mart is refreshed
        on its lag. Jobs backing off retry now: the change may be the fix."""
        known = {mart.name: mart for mart in self.marts}
        kept = []
        for mart in marts:
            old = known.get(mart.name)
            if old is None:
                kept.append(mart)
                continue
            old.lag_s = mart.lag_s
            if mart.name in to_build:
                old.refreshed_version, old.retry_at = -1, 0.0
            kept.append(old)
        self.marts, self.lineage = kept, lineage
        mart_names = {mart.name for mart in kept}
        rebuilt = {name for name in to_build if name in lineage.parents} - mart_names
        self._stale = (
            {name for name in self._stale if name in lineage.parents}
            | rebuilt
            | self._buildable(lineage.descendants(to_build))
        )
        self._tests_queue = [name for name in self._tests_queue if name in lineage.streaming_tests]
        if to_build:
            for job in (self.transform, self.refresh):
                job.retry_at = 0.0

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
        consumers = set(self.warehouse.consumers_with_data())
        self._stale |= self._buildable(consumers | self.lineage.descendants(consumers))
        now = self.clock()
        if not self._stale or not self.transform.ready(now):
            return
        models, riding = self._plan(ready_at=now + self.transform.last_duration_s)
        if not models:
            return
        args = [
            "build", "--select", *sorted(models), *(mart.name for mart in riding),
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
        if outcome is not None:
            # A failed or skipped model stays stale and is retried (with back-off).
            unbuilt = {unique_id.rsplit(".", 1)[-1] for unique_id in outcome[0] | outcome[1]}
            self._stale -= models - unbuilt
            self.data_version += 1
            report.transformed = True
            self._marts_done(riding, marts_outcome, report)

    def _plan(self, ready_at: float) -> tuple[set[str], list[Mart]]:
        """Which stale models to build now, and which marts ride along.

        As Snowflake refreshes a dynamic table's inputs when its target_lag
        requires: the marts due by the time the build is done ride along with
        the stale models upstream of them. The live mart's inputs are built every
        cycle, the rest (the busiest streams among them) at the pace of the
        slower marts, one of those per run; models no mart reads go with the
        slowest."""
        if self.warehouse.refreshes_marts_itself:
            return set(self._stale), []
        due = [mart for mart in self.marts if mart.due(ready_at, self.data_version + 1)]
        # The fastest marts ride whenever due; of the slower ones, the most overdue
        # one per run, so their inputs (the busiest streams) are built in turns
        # instead of in one long run that holds the live mart back.
        fastest = min((mart.lag_s for mart in self.marts), default=0.0)
        riding = [mart for mart in due if mart.lag_s == fastest]
        slower = sorted(
            (mart for mart in due if mart.lag_s > fastest),
            key=lambda mart: (mart.refreshed_at is not None, mart.refreshed_at or 0.0),
        )
        riding += slower[:1]
        needed = self.lineage.ancestors({mart.name for mart in riding})
        slowest = max((mart.lag_s for mart in self.marts), default=0.0)
        if any(mart.lag_s == slowest for mart in riding):
            needed |= self._stale - self.lineage.ancestors({mart.name for mart in self.marts})
        return self._stale & needed, riding

    def _buildable(self, names: set[str]) -> set[str]:
        """What the transform builds: models and snapshots, not views (nothing to
        refresh), seeds (static) or marts (they ride along when due)."""
        marts = {mart.name for mart in self.marts}
        return {
            name
            for name in names
            if name not in marts and self.lineage.materialized.get(name) not in ("view", "seed")
        }

    def _refresh_marts(self, report: CycleReport) -> None:
        if self.warehouse.refreshes_marts_itself or not self.refresh.ready(self.clock()):
            return
        # A mart with stale inputs waits for the transform to take it along.
        due = [
            mart
            for mart in self.marts
            if mart.due(self.clock(), self.data_version)
            and not self._stale & self.lineage.ancestors({mart.name})
        ]
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
        """Every `test_every_s`, a round of the streaming tests, a slice per cycle:
        one long `dbt test` would hold the live mart back for its whole run."""
        now = self.clock()
        if not self.tests.ready(now):
            return
        if not self._tests_queue:
            if now - self._tests_last_run < self.test_every_s:
                return
            self._tests_last_run = now
            self._tests_queue = list(self.lineage.streaming_tests)
            self._tests_round_error = None
            if not self._tests_queue:
                return
        batch = self._tests_queue[:TESTS_PER_SLICE]
        self._tests_queue = self._tests_queue[TESTS_PER_SLICE:]
        outcome = self._run(self.tests, ["test", "--select", *batch])
        if outcome != (set(), set()):
            self._tests_round_error = self.tests.last_error
        elif self._tests_round_error:
            # A failure stays shown until a whole round passes.
            self.tests.last_error = self._tests_round_error
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
