"""The producer: turns generated batches into stage files, at a steady rate.

Per batch it writes one stage file per landing table, appends one ledger line per
(table, batch) saying what it emitted (events, duplicates, malformed lines and
amounts) so a run can be reconciled against the warehouse, and keeps a
checkpoint so a restart continues the numbering and the shop where it stopped.

Crash safety: before the first file of batch N is written, the checkpoint holds
the batch's plan (number, events, window) and the generator's state *before*
the batch. A restart that finds a plan regenerates that exact batch (the
generator is deterministic, so the bytes are identical), writes the files that
are missing (a staged file is never overwritten), appends the ledger lines and
only then moves the checkpoint past the batch. The ledger may then hold a
(table, batch) twice, with identical content; readers keep one.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from snowcart.sources.generator import TABLES, Batch, Faults, ShopGenerator
from snowcart.stages.local import LocalStage

UNTHROTTLED_BATCH = 20_000  # events per batch when running as fast as possible
MAX_LIVE_BATCH = 200_000  # catching up after a slow spell: at most this per batch
BACKFILL_BATCH = 100_000  # average events per batch of history
BACKFILL_RATE = 1000.0  # events/s of history when the live rate is 0 (unthrottled)


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass
class Checkpoint:
    """Where the producer is: the next batch number, the generator's state, and the
    plan of a batch that was started but not finished (its state is the one before)."""

    next_batch: int = 0
    generator: dict | None = None
    plan: dict | None = None
    # Homes from before the shop generator: orders were numbered from here.
    legacy_next_order: int | None = None

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        if not path.exists():
            return cls()
        saved = json.loads(path.read_text(encoding="utf-8"))
        return cls(
            next_batch=saved.get("next_batch", 0),
            generator=saved.get("generator"),
            plan=saved.get("plan"),
            legacy_next_order=saved.get("next_order_number"),
        )

    @staticmethod
    def save(path: Path, next_batch: int, plan: dict | None, generator_json: str) -> None:
        """Atomically: a temporary file, fsynced, renamed over the checkpoint."""
        text = (
            f'{{"next_batch": {next_batch}, "plan": {json.dumps(plan)}, '
            f'"generator": {generator_json}}}'
        )
        temp_path = path.with_suffix(".tmp")
        with open(temp_path, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, path)


class Producer:
    def __init__(
        self,
        generator: ShopGenerator,
        stage: LocalStage,
        ledger_path: Path,
        state_path: Path,
        now: Callable[[], datetime] = utc_now,
    ) -> None:
        self.stage = stage
        self.ledger_path = ledger_path
        self.state_path = state_path
        self.now = now
        for path in (ledger_path, state_path):
            path.parent.mkdir(parents=True, exist_ok=True)
        self.state = Checkpoint.load(state_path)
        if self.state.generator is not None:
            generator = type(generator).restore(
                generator.seed, generator.faults, self.state.generator
            )
        elif self.state.legacy_next_order is not None:
            generator.next_order = self.state.legacy_next_order
        self.generator = generator
        self._generator_json = json.dumps(generator.state())
        self.events_emitted = 0
        self.batches_emitted = 0
        self._repair_ledger()

    # ------------------------------------------------------------ batches

    def emit(self, events: int, window_start: datetime, window_end: datetime) -> Batch:
        """Generate the next batch, stage it, record it in the ledger, advance."""
        self.recover()
        number = self.state.next_batch
        plan = {
            "number": number,
            "events": events,
            "window_start": window_start.isoformat(),
            "window_end": window_end.isoformat(),
            # What made it: a restart with other flags must still remake this batch.
            "seed": self.generator.seed,
            "faults": asdict(self.generator.faults),
        }
        # The state before the batch is the one already serialised after the last.
        Checkpoint.save(self.state_path, number, plan, self._generator_json)
        self.state.plan = plan
        try:
            batch = self.generator.batch(number, events, window_start, window_end)
            self._write(batch)
        except BaseException:
            # Back to the state before the batch, so recover() makes it again.
            self._rewind()
            raise
        self._advance(number + 1)
        self.events_emitted += batch.events
        self.batches_emitted += 1
        return batch

    def emit_batch(self, batch: Batch) -> None:
        """Stage a batch made elsewhere (e.g. a replay), record it, advance.

        The checkpoint holds no plan for it: whoever made it must be able to make
        it again after a crash (files already staged are left as they are)."""
        self.recover()
        self._write(batch)
        self._advance(max(self.state.next_batch, batch.number + 1), keep_state=True)
        self.events_emitted += batch.events
        self.batches_emitted += 1

    def recover(self) -> Batch | None:
        """Finish a batch a crash interrupted: regenerate it from its plan and the
        state before it, write what is missing, record it, advance."""
        plan = self.state.plan
        if plan is None:
            return None
        current = self.generator
        made_by = (
            plan.get("seed", current.seed),
            Faults(**plan.get("faults", asdict(current.faults))),
        )
        if made_by != (current.seed, current.faults):
            self.generator = type(current).restore(*made_by, json.loads(self._generator_json))
        try:
            batch = self.generator.batch(
                plan["number"],
                plan["events"],
                datetime.fromisoformat(plan["window_start"]),
                datetime.fromisoformat(plan["window_end"]),
            )
            self._write(batch)
        except BaseException:
            # Back to the state before the batch, so a later recover() makes it again.
            self.generator = type(current).restore(
                current.seed, current.faults, json.loads(self._generator_json)
            )
            raise
        if self.generator is not current:  # continue with this run's seed and faults
            self.generator = type(current).restore(
                current.seed, current.faults, self.generator.state()
            )
        self._advance(plan["number"] + 1)
        return batch

    def _rewind(self) -> None:
        generator = self.generator
        self.generator = type(generator).restore(
            generator.seed, generator.faults, json.loads(self._generator_json)
        )

    def _write(self, batch: Batch) -> None:
        records = []
        for table in TABLES:
            lines = batch.lines_by_table.get(table) or []
            if not lines:
                continue
            staged = self.stage.write(table, batch.number, lines)
            records.append(
                {"batch": batch.number, "table": table, "file": staged.name, **batch.ledger[table]}
            )
        if records:
            # One write of whole lines: a crash cannot leave half a record behind.
            text = "".join(json.dumps(record) + "\n" for record in records).encode("utf-8")
            descriptor = os.open(self.ledger_path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                os.write(descriptor, text)
                os.fsync(descriptor)
            finally:
                os.close(descriptor)

    def _advance(self, next_batch: int, keep_state: bool = False) -> None:
        if not keep_state:
            self._generator_json = json.dumps(self.generator.state())
        Checkpoint.save(self.state_path, next_batch, None, self._generator_json)
        self.state.next_batch = next_batch
        self.state.plan = None

    def _repair_ledger(self) -> None:
        """Drop an incomplete last line (a crash mid-write); its batch is re-recorded."""
        if not self.ledger_path.exists():
            return
        with open(self.ledger_path, "rb+") as handle:
            data = handle.read()
            if data and not data.endswith(b"\n"):
                handle.truncate(data.rfind(b"\n") + 1)

    # ------------------------------------------------------------ streaming

    def run(
        self,
        events: int | None,
        rate: float,
        stop: threading.Event,
        tick_s: float = 0.5,
        backfill_days: float = 0,
    ) -> None:
        """Emit until `events` lines have been produced (None: until `stop` is set).

        rate is events per second; 0 means as fast as the generator goes.
        backfill_days: first generate that many days of history before now, as
        fast as possible, following the daily and weekly rhythm at `rate` events
        per second on average (1,000/s when rate is 0); then stream live. Only on
        a fresh shop: a shop that already has history continues from it.
        """
        self.recover()
        window_start = self.now()
        if backfill_days > 0 and self.generator.last_end is None:
            window_start = self._backfill(
                window_start, backfill_days, rate if rate > 0 else BACKFILL_RATE, events, stop
            )
        live_started = self.now()
        live_emitted = 0
        while not stop.is_set() and (events is None or self.events_emitted < events):
            if rate > 0:
                # Emit what accrued during the tick, placed in the tick's time window.
                stop.wait(tick_s)
                elapsed = (self.now() - live_started).total_seconds()
                size = min(int(rate * elapsed) - live_emitted, MAX_LIVE_BATCH)
            else:
                size = UNTHROTTLED_BATCH
            if events is not None:
                size = min(size, events - self.events_emitted)
            if size > 0:
                window_end = max(self.now(), window_start + timedelta(microseconds=1))
                live_emitted += self.emit(size, window_start, window_end).events
                window_start = window_end

    def _backfill(
        self, end: datetime, days: float, rate: float, events: int | None, stop: threading.Event
    ) -> datetime:
        """History over [end - days, end): returns where it stopped."""
        step = timedelta(seconds=min(max(BACKFILL_BATCH / rate, 60.0), 6 * 3600.0))
        window_start = cursor = end - timedelta(days=days)
        owed = 0.0
        while cursor < end and not stop.is_set():
            if events is not None and self.events_emitted >= events:
                break
            window_end = min(cursor + step, end)
            owed += rate * self.generator.activity(cursor, window_end)
            cursor = window_end
            size = int(owed)
            if events is not None:
                size = min(size, events - self.events_emitted)
            if size > 0:
                owed -= size
                self.emit(size, window_start, window_end)
                window_start = window_end
        return window_start
