"""The real-time loop: a producer thread feeding the stage, and the scheduler
loading new files and refreshing the models and marts, until the producer is
done and everything staged has been loaded, transformed and published."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from snowcart.engines.base import LoadReport, Warehouse
from snowcart.errors import BuildError, ConfigError
from snowcart.loop.project import ProjectWatch
from snowcart.loop.scheduler import Mart, Scheduler
from snowcart.loop.status import RATE_WINDOW_S, Rate, StatusBoard
from snowcart.sources.producer import Producer

# How often the pipeline's data tests run while streaming (all run at the end).
TEST_EVERY_S = 120.0
PRODUCED_RATE = f"events/s produced (last {RATE_WINDOW_S:.0f} s)"
LOADED_RATE = f"rows/s loaded (last {RATE_WINDOW_S:.0f} s)"
# What a line shows when the output is not a terminal (a log, a pipe).
COMPACT_FIELDS = (
    "state", "events produced", PRODUCED_RATE, "rows loaded", LOADED_RATE,
    "lines rejected (load errors)", "stage backlog (files)", "rpt_sales_per_minute lag (s)",
    "stage files skipped",
)  # fmt: skip


@dataclass
class RunReport:
    events_emitted: int = 0
    loaded: LoadReport = field(default_factory=LoadReport)
    builds: int = 0
    failed_builds: int = 0
    mart_refreshes: int = 0
    last_error: str | None = None
    totals: dict[str, int | float] = field(default_factory=dict)
    # What the loop saw change in the project while it ran, one line per change.
    project_changes: list[str] = field(default_factory=list)


class Pipeline:
    """Load → transform → refresh cycles over one warehouse; one dbt run at a time."""

    def __init__(
        self, warehouse: Warehouse, status: StatusBoard, test_every_s: float = TEST_EVERY_S
    ) -> None:
        self.warehouse = warehouse
        self.status = status
        self.report = RunReport()
        self.test_every_s = test_every_s
        self.scheduler: Scheduler | None = None
        self.project: ProjectWatch | None = None
        self._project_error: str | None = None
        self._started = time.monotonic()
        self._last_detail = 0.0
        self._produced, self._loaded = Rate(), Rate()
        status.compact = status.compact or COMPACT_FIELDS

    def start(self) -> Scheduler:
        """Build every model, snapshot and mart (tests come with the scheduler's
        test job and the drain), publish, then the scheduler takes over."""
        self.status.update(state="initial build")
        self.project = ProjectWatch(self.warehouse.dbt)
        marts = self._marts()
        try:
            self.warehouse.dbt.invoke("build", "--exclude-resource-type", "test", "unit_test")
            self.report.builds += 1
            now = time.monotonic()
            for mart in marts:
                mart.refreshed_at, mart.refreshed_version = now, 0
            self.warehouse.publish([mart.name for mart in marts])
        except BuildError as error:
            # The scheduler retries what failed (marts never refreshed are due);
            # loading goes on.
            self.report.failed_builds += 1
            self.report.last_error = str(error)
            self.status.update(**{"last error": str(error)[:160]})
        self.scheduler = Scheduler(
            self.warehouse, marts, self.project.lineage, test_every_s=self.test_every_s
        )
        return self.scheduler

    def _marts(self) -> list[Mart]:
        return [Mart(name, lag_s) for name, lag_s in self.project.marts.items()]

    def watch_project(self) -> None:
        """Pick up models added, changed or removed since the last cycle (the
        project is parsed again only when one of its files changed) and say so
        once; a project that does not parse keeps the last good one scheduled."""
        scheduler = self.scheduler or self.start()
        try:
            change = self.project.poll()
        except (BuildError, ConfigError) as error:
            message = f"project not reloaded: {error}"[:300]
            if message != self._project_error:
                self._project_error = message
                self.status.note(message)
            return
        self._project_error = None
        if change is None:
            return
        scheduler.update_project(self._marts(), self.project.lineage, change.to_build)
        if not change:  # only docs, lags or variables: nothing worth a line
            return
        message = change.describe()
        self.report.project_changes.append(message)
        self.status.note(message)

    def cycle(self) -> LoadReport:
        scheduler = self.scheduler or self.start()
        self.watch_project()
        cycle = scheduler.cycle()
        self.report.loaded += cycle.loaded
        self.status.skipped(cycle.loaded.skipped)
        self.report.builds += int(cycle.transformed)
        self.report.mart_refreshes += int(bool(cycle.marts_refreshed))
        failing = [job for job in scheduler.jobs if job.last_error]
        self.report.failed_builds = sum(job.failures for job in scheduler.jobs)
        if failing:
            self.report.last_error = failing[0].last_error
        return cycle.loaded

    def run(
        self,
        producer: Producer | None,
        produce: Callable[[threading.Event], None] | None,
        stop: threading.Event,
        poll_s: float = 0.2,
    ) -> RunReport:
        """Run `produce` (it feeds the stage through `producer`) in a thread until
        it returns or `stop` is set, cycling meanwhile; then drain."""
        thread = None
        producer_error: list[BaseException] = []
        if produce is not None:

            def produce_guarded() -> None:
                try:
                    produce(stop)
                except BaseException as error:  # surfaced after the drain
                    producer_error.append(error)

            thread = threading.Thread(target=produce_guarded, name="producer", daemon=True)
            thread.start()
        self._started = time.monotonic()
        while thread is not None and thread.is_alive():
            loaded = self.cycle()
            self._show(producer)
            if not loaded.files:  # idle: wait for the stage; busy: go straight on
                stop.wait(poll_s)
        self.drain(producer)
        if producer_error:
            raise producer_error[0]
        return self.report

    def serve(self, stop: threading.Event, poll_s: float = 0.2) -> RunReport:
        """Cycle until `stop` (a producer runs elsewhere), then drain."""
        self._started = time.monotonic()
        while not stop.is_set():
            loaded = self.cycle()
            self._show(None)
            if not loaded.files:
                stop.wait(poll_s)
        self.drain(None)
        return self.report

    def drain(self, producer: Producer | None) -> None:
        """Load everything staged, then a full build with every test (a failure
        here is fatal: the marts must reflect everything loaded), and publish."""
        self.status.update(state="draining")
        if self.scheduler is None:
            # Nothing streamed before (--drain, --events 0): load, then the one
            # full build below; an initial build and cycles first would only
            # build the same models twice more.
            self.project = ProjectWatch(self.warehouse.dbt)
        streamed = self.scheduler is not None
        pending = self.warehouse.pending_files()
        total = self.report.loaded.files + pending
        while pending:
            if streamed:
                self.cycle()  # counts what it loads
            else:
                loaded = self.warehouse.ingest()
                self.report.loaded += loaded
                self.status.skipped(loaded.skipped)
            pending = self.warehouse.pending_files()
            self.status.set_progress("drain (files)", total - pending, total)
            self._show(producer, state="draining")
        # The full build reads every stream to its end, stale or not, and builds
        # every model of the project as it is now: the marts it lists are published.
        self.warehouse.build()
        self.report.builds += 1
        if streamed:
            self.watch_project()
        self.status.set_progress("drain (files)", 0, None)
        # The state after the drain (backlogs and quality recorded, so the
        # publication carries them), then every field once.
        self._show(producer, state="done", detail=True)
        self.warehouse.publish(list(self.project.marts))
        self.report.totals = self.warehouse.totals()
        self.status.update(**self.report.totals)
        self.status.final()

    def _show(
        self, producer: Producer | None, state: str = "streaming", detail: bool = False
    ) -> None:
        now = time.monotonic()
        emitted = producer.events_emitted if producer else 0
        self.report.events_emitted = emitted
        rows = self.report.loaded.rows_loaded
        fields: dict[str, object] = {
            "state": state,
            "elapsed (s)": round(now - self._started, 1),
            "events produced": emitted,
            PRODUCED_RATE: _per_second(self._produced.add(now, emitted)),
            "rows loaded": rows,
            LOADED_RATE: _per_second(self._loaded.add(now, rows)),
            "lines rejected (load errors)": self.report.loaded.rows_rejected,
            "transforms / mart refreshes": f"{self.report.builds} / {self.report.mart_refreshes}",
        }
        scheduler = self.scheduler
        if scheduler is not None:
            ages = [age for age in scheduler.mart_ages().values() if age is not None]
            if ages:
                fields["marts refreshed (s ago, newest/oldest)"] = f"{min(ages)} / {max(ages)}"
            for job in scheduler.jobs:
                if job.last_error:
                    fields[f"{job.name} failing (retry in s)"] = (
                        f"{max(job.retry_at - now, 0):.0f}: {job.last_error[:100]}"
                    )
                else:
                    fields.pop(f"{job.name} failing (retry in s)", None)
                    self.status.fields.pop(f"{job.name} failing (retry in s)", None)
        # Counting backlogs and quarantine scans tables: every few seconds only.
        if detail or now - self._last_detail >= 3.0:
            self._last_detail = now
            fields["stage backlog (files)"] = self.warehouse.pending_files()
            fields.update(self.warehouse.stage_health())
            health = self.warehouse.record_health()
            fields["stream backlog (rows)"] = "n/a" if health is None else health.stream_backlog
            fields["quarantined rows"] = "n/a" if health is None else health.quarantined
            lag = self.warehouse.freshness_lag_s()
            if lag is not None:
                fields["rpt_sales_per_minute lag (s)"] = round(lag, 1)
        progress = producer.backfill_progress if producer else None
        self.status.set_progress("backfill", progress or 0, None if progress is None else 1)
        self.status.update(**fields)


def _per_second(rate: float | None) -> int | str:
    """A rate over the last RATE_WINDOW_S seconds, whole per second."""
    return "…" if rate is None else round(rate)
