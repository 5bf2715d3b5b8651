"""The producer: turns generated batches into stage files, at a steady rate.

Per batch it writes one stage file per landing table, appends one ledger line per
(table, batch) saying what it emitted (events, duplicates, malformed lines and
amounts) so a run can be reconciled against the warehouse, and keeps a
checkpoint so a restart continues the numbering and the shop where it stopped.

The checkpoint is the one place the shop's state lives between batches: the
next batch number, the generator's `ShopState` after the last finished batch,
and the plan of a batch started but not finished. The generator itself holds
nothing the producer needs: `ShopGenerator.make(state, plan)` returns the batch
and the next state, and only a finished batch moves the checkpoint on.

Crash safety: before the first file of batch N is written, the checkpoint holds
the batch's plan (number, events, window, seed, faults) beside the state before
it. A restart that finds a plan makes that exact batch again (the generator is
deterministic, so the bytes are identical), writes the files that are missing
(a staged file is never overwritten), appends the ledger lines and only then
moves the checkpoint past the batch. The ledger may then hold a (table, batch)
twice, with identical content; readers keep one.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from snowcart.sources.generator import TABLES, Batch, Faults, ShopGenerator, ShopState
from snowcart.stages.local import LocalStage

UNTHROTTLED_BATCH = 20_000  # events per batch when running as fast as possible
MAX_LIVE_BATCH = 200_000  # catching up after a slow spell: at most this per batch
BACKFILL_BATCH = 100_000  # average events per batch of history
BACKFILL_RATE = 1000.0  # events/s of history when the live rate is 0 (unthrottled)
# On a fixed clock (--start-at) with rate 0, shop time advances as if at this rate.
UNTHROTTLED_SHOP_RATE = 1000.0


def utc_now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


@dataclass(frozen=True)
class Plan:
    """What makes a batch: a restart with other flags must still remake it."""

    number: int
    events: int
    window_start: datetime
    window_end: datetime
    seed: int
    faults: Faults

    def to_dict(self) -> dict:
        return {
            "number": self.number,
            "events": self.events,
            "window_start": self.window_start.isoformat(),
            "window_end": self.window_end.isoformat(),
            "seed": self.seed,
            "faults": asdict(self.faults),
        }

    @classmethod
    def from_dict(cls, data: dict, seed: int, faults: Faults) -> Plan:
        """A saved plan; `seed` and `faults` for plans saved before they were."""
        return cls(
            number=data["number"],
            events=data["events"],
            window_start=datetime.fromisoformat(data["window_start"]),
            window_end=datetime.fromisoformat(data["window_end"]),
            seed=data.get("seed", seed),
            faults=Faults(**data["faults"]) if "faults" in data else faults,
        )


class Checkpoint:
    """The producer's checkpoint file: next batch number, the shop state after the
    last finished batch (= before the planned one), and the plan, if any."""

    def __init__(self, path: Path, next_batch: int, state: ShopState, plan: Plan | None) -> None:
        self.path = path
        self.next_batch = next_batch
        self.state = state
        self.plan = plan
        self._state_json = state.to_json()  # serialised once per state

    @classmethod
    def load(cls, path: Path, generator: ShopGenerator) -> Checkpoint:
        """The saved checkpoint, or a fresh shop's (the generator's seed and sizes)."""
        if not path.exists():
            return cls(path, 0, generator.fresh_state(), None)
        saved = json.loads(path.read_text(encoding="utf-8"))
        state = saved.get("state") or saved.get("generator")  # "generator": older homes
        if state:
            state = ShopState.from_dict(state)
        else:  # a home from the orders-only producer: orders were numbered from here
            state = generator.fresh_state(next_order=saved.get("next_order_number", 1))
        plan = saved.get("plan")
        if plan is not None:
            plan = Plan.from_dict(plan, generator.seed, generator.faults)
        return cls(path, saved.get("next_batch", 0), state, plan)

    def begin(self, plan: Plan) -> None:
        """Record a batch about to be made from the current state."""
        self.plan = plan
        self._save()

    def finish(self, next_batch: int, state: ShopState | None = None) -> None:
        """Move past a finished batch (to `state`, if it changed the shop)."""
        if state is not None and state is not self.state:
            self.state, self._state_json = state, state.to_json()
        self.next_batch, self.plan = next_batch, None
        self._save()

    def _save(self) -> None:
        """Atomically: a temporary file, fsynced, renamed over the checkpoint."""
        plan = json.dumps(self.plan.to_dict() if self.plan else None)
        text = f'{{"next_batch": {self.next_batch}, "plan": {plan}, "state": {self._state_json}}}'
        temp_path = self.path.with_suffix(".tmp")
        with open(temp_path, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temp_path, self.path)


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
        self.checkpoint = Checkpoint.load(state_path, generator)
        # The shop's pool sizes are the checkpoint's; seed and faults this run's.
        self.generator = self._generator_for(generator, generator.seed, generator.faults)
        self.events_emitted = 0
        self.batches_emitted = 0
        # Share of the backfill's span generated so far (read by the status
        # board from the pipeline's thread); None when not backfilling.
        self.backfill_progress: float | None = None
        self._repair_ledger()

    @property
    def state(self) -> ShopState:
        """The shop's state after the last finished batch."""
        return self.checkpoint.state

    # ------------------------------------------------------------ batches

    def emit(self, events: int, window_start: datetime, window_end: datetime) -> Batch:
        """Generate the next batch, stage it, record it in the ledger, advance."""
        self.recover()
        plan = Plan(
            self.checkpoint.next_batch,
            events,
            window_start,
            window_end,
            self.generator.seed,
            self.generator.faults,
        )
        batch = self._make(plan)
        self.events_emitted += batch.events
        self.batches_emitted += 1
        return batch

    def recover(self) -> Batch | None:
        """Finish a batch a crash interrupted: make it again from its plan and the
        state before it, write what is missing, record it, advance."""
        if self.checkpoint.plan is None:
            return None
        return self._make(self.checkpoint.plan)

    def emit_batch(self, batch: Batch) -> None:
        """Stage a batch made elsewhere (e.g. a replay), record it, advance.

        The checkpoint holds no plan for it: whoever made it must be able to make
        it again after a crash (files already staged are left as they are)."""
        self.recover()
        self._write(batch)
        self.checkpoint.finish(max(self.checkpoint.next_batch, batch.number + 1))
        self.events_emitted += batch.events
        self.batches_emitted += 1

    def _make(self, plan: Plan) -> Batch:
        """The one path of a generated batch: plan saved beside the state before
        it, batch made (the state is left as it was), staged, recorded, and only
        then the checkpoint moved to the state after it. A failure anywhere
        leaves the plan for recover()."""
        self.checkpoint.begin(plan)
        maker = self._generator_for(self.generator, plan.seed, plan.faults)
        batch, after = maker.make(
            self.checkpoint.state, plan.number, plan.events, plan.window_start, plan.window_end
        )
        self._write(batch)
        self.checkpoint.finish(plan.number + 1, after)
        return batch

    def _generator_for(self, generator: ShopGenerator, seed: int, faults: Faults) -> ShopGenerator:
        """`generator`, or one with this seed and faults for the checkpoint's shop."""
        state = self.checkpoint.state
        wanted = (seed, faults, state.customers, state.products)
        if wanted == (generator.seed, generator.faults, generator.customers, generator.products):
            return generator
        return type(generator)(seed, faults, state=state)

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
        start_at: datetime | None = None,
    ) -> None:
        """Emit until `events` lines have been produced (None: until `stop` is set).

        rate is events per second; 0 means as fast as the generator goes.
        backfill_days: first generate that many days of history before now, as
        fast as possible, following the daily and weekly rhythm at `rate` events
        per second on average (1,000/s when rate is 0); then stream live. Only on
        a fresh shop: a shop that already has history continues from it.

        start_at (naive UTC): run the shop on its own clock instead of the wall
        clock. On a fresh shop it starts there (history, if any, before it); a
        shop with history continues where its last batch ended. Batches then
        have a fixed size and each covers size / rate seconds of shop time (rate
        0: as if at 1,000 events/s), so the same seed and start give the same
        batches, whatever the machine's speed; `rate` only paces the run.
        """
        self.recover()
        fresh = self.state.last_end is None
        if start_at is not None and not fresh:
            start_at = datetime(1970, 1, 1) + timedelta(microseconds=self.state.output_end)
        window_start = self.now() if start_at is None else start_at
        if backfill_days > 0 and fresh:
            window_start = self._backfill(
                window_start, backfill_days, rate if rate > 0 else BACKFILL_RATE, events, stop
            )
        if start_at is None:
            self._run_on_wall_clock(window_start, events, rate, stop, tick_s)
        else:
            self._run_on_shop_clock(window_start, events, rate, stop, tick_s)

    def _wanted(self, size: int, events: int | None) -> int:
        return size if events is None else min(size, events - self.events_emitted)

    def _done(self, events: int | None, stop: threading.Event) -> bool:
        return stop.is_set() or (events is not None and self.events_emitted >= events)

    def _run_on_wall_clock(
        self, window_start: datetime, events: int | None, rate: float, stop, tick_s: float
    ) -> None:
        """Each batch holds what accrued since the last and covers that wall time."""
        live_started = self.now()
        live_emitted = 0
        while not self._done(events, stop):
            if rate > 0:
                # Emit what accrued during the tick, placed in the tick's time window.
                stop.wait(tick_s)
                elapsed = (self.now() - live_started).total_seconds()
                size = min(int(rate * elapsed) - live_emitted, MAX_LIVE_BATCH)
            else:
                size = UNTHROTTLED_BATCH
            size = self._wanted(size, events)
            if size > 0:
                window_end = max(self.now(), window_start + timedelta(microseconds=1))
                live_emitted += self.emit(size, window_start, window_end).events
                window_start = window_end

    def _run_on_shop_clock(
        self, start: datetime, events: int | None, rate: float, stop, tick_s: float
    ) -> None:
        """Fixed-size batches, each covering size / rate seconds of shop time from
        `start`: batch boundaries follow the event count, never the wall clock."""
        shop_rate = rate if rate > 0 else UNTHROTTLED_SHOP_RATE
        full = UNTHROTTLED_BATCH if rate <= 0 else max(1, min(int(rate * tick_s), MAX_LIVE_BATCH))
        started = self.now()
        emitted = 0  # this run's events: shop time is start + emitted / shop_rate
        window_start = start
        while not self._done(events, stop):
            size = self._wanted(full, events)
            if rate > 0:  # not ahead of the rate
                ahead = (emitted + size) / rate - (self.now() - started).total_seconds()
                if ahead > 0 and stop.wait(ahead):
                    break
            emitted += size
            window_end = max(
                start + timedelta(seconds=emitted / shop_rate),
                window_start + timedelta(microseconds=1),
            )
            self.emit(size, window_start, window_end)
            window_start = window_end

    def _backfill(
        self, end: datetime, days: float, rate: float, events: int | None, stop: threading.Event
    ) -> datetime:
        """History over [end - days, end): returns where it stopped."""
        step = timedelta(seconds=min(max(BACKFILL_BATCH / rate, 60.0), 6 * 3600.0))
        window_start = cursor = start = end - timedelta(days=days)
        owed = 0.0
        while cursor < end and not stop.is_set():
            self.backfill_progress = (cursor - start) / (end - start)
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
        self.backfill_progress = None
        return window_start
