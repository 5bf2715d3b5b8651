"""Bad input in live mode: after any single bad stage file, the next good file
is loaded, transformed and published in one cycle of the running loop, and
the bad one is accounted for (quarantined, rejected or skipped with a reason).

The loop runs in this process on a fake scheduler clock that moves 2 s per
cycle, so every mart (1-s lag here) is due in each cycle without waiting."""

from __future__ import annotations

import gzip
import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
from test_realtime import copy_project

from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
from snowcart.loop.pipeline import Pipeline
from snowcart.loop.status import StatusBoard
from snowcart.settings import Settings
from snowcart.sources.generator import ShopGenerator
from snowcart.sources.producer import Producer
from snowcart.stages.local import LocalStage

# Yesterday's minutes: before the generated events (which start now), and not
# in the future (a future order time is quarantined as impossible).
FIRST_GOOD = datetime.now(UTC).replace(tzinfo=None, minute=0, second=0, microsecond=0) - timedelta(
    days=1
)


def order(order_id: str, at: datetime, **changes) -> dict:
    return {
        "event_id": f"live-{order_id}", "event_type": "order_placed", "event_at": at.isoformat(),
        "order_id": order_id, "customer_id": None, "channel": "web", "currency": "USD",
        "ship_country": "DE", "ordered_at": at.isoformat(),
        "lines": [{"line_number": 1, "product_id": "P00001", "quantity": 2,
                   "unit_price": 10.5, "discount_amount": 0.0}],
        **changes,
    }  # fmt: skip


def write_raw(stage: Path, name: str, data: bytes) -> None:
    (stage / "orders" / name).write_bytes(data)


# One bad stage entry per kind, each as a producer from elsewhere would place it.
def poison_channel(stage: Path, at: datetime) -> None:
    text = json.dumps(order("BAD-CHANNEL", at, channel="pos'; drop table x; --"))
    write_raw(stage, "bad-channel.ndjson", (text + "\n").encode())


def overflowing_line(stage: Path, at: datetime) -> None:
    event = order("BAD-OVERFLOW", at)
    event["lines"][0].update(quantity=2147483647, unit_price=99999999999999)
    write_raw(stage, "bad-overflow.ndjson", (json.dumps(event) + "\n").encode())


def conflicting_copy(stage: Path, at: datetime) -> None:
    first = order("DUP", at)
    second = order("DUP", at, ship_country="US")
    second["lines"][0]["quantity"] = 7
    lines = [json.dumps(first), json.dumps(second)]
    write_raw(stage, "bad-conflict.ndjson", ("\n".join(lines) + "\n").encode())


def offset_timestamp(stage: Path, at: datetime) -> None:
    stamp = (at + timedelta(hours=5)).isoformat() + "+05:00"
    event = order("OFFSET", at, ordered_at=stamp, event_at=stamp)
    event["lines"][0]["quantity"] = "3.7"
    write_raw(stage, "bad-quantity.ndjson", (json.dumps(event) + "\n").encode())


def directory_named_like_a_file(stage: Path, at: datetime) -> None:
    (stage / "orders" / "folder.ndjson").mkdir()


def dangling_symlink(stage: Path, at: datetime) -> None:
    os.symlink(stage / "nowhere.ndjson", stage / "orders" / "dangling.ndjson")


def symlink_out_of_the_stage(stage: Path, at: datetime) -> None:
    os.symlink("/etc/passwd", stage / "orders" / "passwd.ndjson")


def cr_only_and_multi_member_gzip(stage: Path, at: datetime) -> None:
    one, two = json.dumps(order("CR-1", at)), json.dumps(order("CR-2", at))
    write_raw(stage, "cr-only.ndjson", f"{one}\r{two}\r".encode())
    three, four = json.dumps(order("GZ-1", at)), json.dumps(order("GZ-2", at))
    write_raw(stage, "members.ndjson.gz", gzip.compress(f"{three}\n".encode())
              + gzip.compress(f"{four}\n".encode()))  # fmt: skip


def not_json_at_all(stage: Path, at: datetime) -> None:
    write_raw(stage, "garbage.ndjson", b'\x00\xff{not json\n[1, 2]\n"text"\n\n')


BAD_ENTRIES: tuple[Callable[[Path, datetime], None], ...] = (
    poison_channel, overflowing_line, conflicting_copy, offset_timestamp,
    directory_named_like_a_file, dangling_symlink, symlink_out_of_the_stage,
    cr_only_and_multi_member_gzip, not_json_at_all,
)  # fmt: skip


class FakeClock:
    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


def served_booked_revenue(home: Path, minute: datetime) -> Decimal | None:
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        row = con.execute(
            "select booked_revenue from analytics.rpt_sales_per_minute where sales_minute = ?",
            [minute],
        ).fetchone()
    return None if row is None else row[0]


def test_after_each_bad_file_the_next_good_file_is_published_in_one_cycle(tmp_path, monkeypatch):
    monkeypatch.setenv("SNOWCART_EMBEDDED_TARGET_LAG", "1 second")
    project = copy_project(tmp_path / "project")
    settings = Settings(target="dev", home=tmp_path / "home", project_dir=project)
    settings.prepare()
    warehouse = DuckDBWarehouse(settings)
    stage = LocalStage(settings.stage_dir)
    producer = Producer(
        ShopGenerator(seed=9), stage, settings.ledger_path, settings.producer_state_path
    )
    try:
        warehouse.setup()
        pipeline = Pipeline(warehouse, StatusBoard("test", plain_every_s=1e9))
        producer.run(2000, 0, stop=threading.Event())
        pipeline.cycle()  # initial build, then the first cycle
        clock = FakeClock(pipeline.scheduler.clock())
        pipeline.scheduler.clock = clock
        batch = 10_000
        for number, bad in enumerate(BAD_ENTRIES):
            at = FIRST_GOOD + timedelta(minutes=10 * number)
            bad(settings.stage_dir, at)
            clock.now += 2
            pipeline.cycle()
            # The next good file: one order in a minute of its own.
            good_minute = at + timedelta(minutes=5)
            batch += 1
            stage.write("orders", batch, [json.dumps(order(f"GOOD-{number}", good_minute))])
            clock.now += 2
            pipeline.cycle()
            assert served_booked_revenue(settings.home, good_minute) == Decimal("21"), bad.__name__
            assert not warehouse.pending_files(), bad.__name__  # nothing left hanging
    finally:
        warehouse.close()
