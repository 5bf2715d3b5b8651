"""The simulation: a producer thread feeding the stage, and a loop that loads new
files and rebuilds the models, until the producer is done and everything staged
has been loaded and transformed."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from snowcart.backends import LoadReport, Warehouse
from snowcart.errors import BuildError
from snowcart.producer import Producer
from snowcart.status import StatusBoard


@dataclass
class RunReport:
    events_emitted: int = 0
    loaded: LoadReport = field(default_factory=LoadReport)
    builds: int = 0
    failed_builds: int = 0
    last_error: str | None = None
    totals: dict[str, float] = field(default_factory=dict)


class Pipeline:
    """Load → transform cycles over one warehouse; one build at a time."""

    def __init__(self, warehouse: Warehouse, status: StatusBoard) -> None:
        self.warehouse = warehouse
        self.status = status
        self.report = RunReport()
        # The marts lag the landing tables until a build succeeds.
        self._needs_build = True

    def cycle(self) -> LoadReport:
        loaded = self.warehouse.ingest()
        self.report.loaded += loaded
        if loaded.files:
            self._needs_build = True
        if self._needs_build:
            started = time.monotonic()
            try:
                self.warehouse.build()
                self._needs_build = False
                self.report.builds += 1
                self.status.update(**{"last build (s)": round(time.monotonic() - started, 2)})
            except BuildError as error:
                # Rows stay loaded; the next cycle's build picks them up again.
                self.report.failed_builds += 1
                self.report.last_error = str(error)
                self.status.update(**{"last build error": str(error)[:120]})
        return loaded

    def run(
        self,
        producer: Producer | None,
        produce: Callable[[threading.Event], None] | None,
        stop: threading.Event,
        poll_s: float = 0.5,
    ) -> RunReport:
        """Run `produce` (it feeds the stage through `producer`) in a thread until
        it returns or `stop` is set, loading and building meanwhile; then drain."""
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
        started = time.monotonic()
        while thread is not None and thread.is_alive():
            self.cycle()
            self._show(producer, started)
            stop.wait(poll_s)
        self.drain(producer, started)
        if producer_error:
            raise producer_error[0]
        return self.report

    def drain(self, producer: Producer | None, started: float) -> None:
        """Load and transform until nothing staged is left, then a final build."""
        self.status.update(state="draining")
        while True:
            loaded = self.cycle()
            self._show(producer, started)
            if not loaded.files and self.warehouse.pending_files() == 0:
                break
        if self._needs_build:
            # The marts must reflect everything loaded: a failure here is fatal.
            self.warehouse.build()
            self._needs_build = False
            self.report.builds += 1
        self.report.totals = self.warehouse.totals()
        self.status.update(
            state="done", **{key: value for key, value in self.report.totals.items()}
        )

    def _show(self, producer: Producer | None, started: float) -> None:
        elapsed = max(time.monotonic() - started, 1e-9)
        emitted = producer.events_emitted if producer else 0
        self.report.events_emitted = emitted
        self.status.update(
            state="streaming",
            **{
                "elapsed (s)": round(elapsed, 1),
                "events produced": emitted,
                "events/s": round(emitted / elapsed, 1),
                "files loaded": self.report.loaded.files,
                "rows loaded": self.report.loaded.rows_loaded,
                "lines rejected": self.report.loaded.rows_rejected,
                "dbt builds": self.report.builds,
                "failed builds": self.report.failed_builds,
            },
        )
