"""The producer: turns generated batches into stage files at a steady rate.

It keeps a ledger (one JSON line per batch: what it emitted) so a run can be
reconciled against the warehouse, and a checkpoint so a restart continues the
batch and order numbering instead of reusing ids.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from snowcart.generator import Batch, OrderGenerator
from snowcart.stage import LocalStage

TABLE = "orders"
UNTHROTTLED_BATCH = 20_000


@dataclass
class ProducerState:
    next_batch: int = 0
    next_order_number: int = 1

    @classmethod
    def load(cls, path: Path) -> ProducerState:
        if not path.exists():
            return cls()
        return cls(**json.loads(path.read_text(encoding="utf-8")))

    def save(self, path: Path) -> None:
        temp_path = path.with_suffix(".tmp")
        temp_path.write_text(json.dumps(asdict(self)), encoding="utf-8")
        os.replace(temp_path, path)


class Producer:
    def __init__(
        self,
        generator: OrderGenerator,
        stage: LocalStage,
        ledger_path: Path,
        state_path: Path,
    ) -> None:
        self.generator = generator
        self.stage = stage
        self.ledger_path = ledger_path
        self.state_path = state_path
        self.state = ProducerState.load(state_path)
        self.events_emitted = 0
        self.batches_emitted = 0

    def emit(self, orders: int, window_start: datetime, window_end: datetime) -> Batch:
        """Generate one batch, stage it, record it in the ledger, advance the checkpoint.

        If the batch's file is already staged, an earlier run died after staging
        it and before its checkpoint: that file is the batch, as it was emitted.
        """
        existing = self.stage.path_for(TABLE, self.state.next_batch)
        if existing.exists():
            batch = Batch.from_lines(
                self.state.next_batch, existing.read_text("utf-8").splitlines()
            )
        else:
            batch = self.generator.batch(
                self.state.next_batch,
                self.state.next_order_number,
                orders,
                window_start,
                window_end,
            )
        staged = self.stage.write(TABLE, batch.number, batch.lines)
        record = {
            "batch": batch.number,
            "table": TABLE,
            "file": staged.name,
            "events": len(batch.lines),
            "orders": batch.order_count,
            "order_lines": batch.order_line_count,
            "net_revenue": batch.net_revenue,
        }
        with open(self.ledger_path, "a", encoding="utf-8") as ledger:
            ledger.write(json.dumps(record) + "\n")
        self.state.next_batch += 1
        self.state.next_order_number += batch.order_count
        self.state.save(self.state_path)
        self.events_emitted += len(batch.lines)
        self.batches_emitted += 1
        return batch

    def run(
        self, events: int | None, rate: float, stop: threading.Event, tick_s: float = 0.5
    ) -> None:
        """Emit until `events` have been produced (None: until `stop` is set).

        rate is events per second; 0 means as fast as the generator goes.
        """
        started = time.monotonic()
        window_start = utc_now()
        while not stop.is_set() and (events is None or self.events_emitted < events):
            if rate > 0:
                # Emit what accrued during the tick, placed in the tick's time window.
                stop.wait(tick_s)
                size = int(rate * (time.monotonic() - started)) - self.events_emitted
            else:
                size = UNTHROTTLED_BATCH
            if events is not None:
                size = min(size, events - self.events_emitted)
            if size > 0:
                window_end = max(utc_now(), window_start + timedelta(microseconds=1))
                self.emit(size, window_start, window_end)
                window_start = window_end


def utc_now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)
