"""The producer: exact event counts, identical stage files for a seed, a ledger
that matches the files, crash recovery from the checkpoint's plan, backfill."""

import json
import threading
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from snowcart.reconcile import ledger_events
from snowcart.sources.generator import Faults, ShopGenerator, ShopState
from snowcart.sources.producer import Checkpoint, Producer
from snowcart.stages.local import LocalStage

START = datetime(2026, 2, 2, 9, 0, 0)


class Clock:
    """A fake clock that moves `step` forward each time it is read."""

    def __init__(self, start: datetime = START, step: timedelta = timedelta(seconds=1)):
        self.now, self.step = start, step

    def __call__(self) -> datetime:
        self.now += self.step
        return self.now


def producer(home: Path, seed: int = 7, faults: Faults | None = None, clock=None) -> Producer:
    return Producer(
        ShopGenerator(seed=seed, faults=faults or Faults()),
        LocalStage(home / "stage"),
        home / "ledger.ndjson",
        home / "producer.json",
        now=clock or Clock(),
    )


def stage_files(home: Path) -> dict[str, bytes]:
    root = home / "stage"
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*.ndjson"))}


def staged_lines(home: Path) -> int:
    return sum(data.count(b"\n") for data in stage_files(home).values())


def ledger(home: Path) -> list[dict]:
    return [json.loads(line) for line in (home / "ledger.ndjson").read_text().splitlines()]


@pytest.mark.parametrize(("events", "rate"), [(700, 0), (45_001, 0), (3_210, 2_000)])
def test_run_emits_exactly_the_requested_lines(tmp_path, events, rate):
    produced = producer(tmp_path)
    produced.run(events, rate, threading.Event(), tick_s=0)
    assert produced.events_emitted == events
    assert staged_lines(tmp_path) == events
    assert sum(record["events"] for record in ledger(tmp_path)) == events


def test_same_seed_and_clock_give_identical_stage_files(tmp_path):
    faults = Faults(duplicate_rate=0.02, out_of_order_rate=0.05)
    for name in ("a", "b"):
        producer(tmp_path / name, faults=faults).run(30_000, 0, threading.Event())
    first, second = stage_files(tmp_path / "a"), stage_files(tmp_path / "b")
    assert first == second
    assert {name.split("/")[0] for name in first} >= {"orders", "payments", "web_events"}
    producer(tmp_path / "c", seed=8, faults=faults).run(30_000, 0, threading.Event())
    assert stage_files(tmp_path / "c") != first


def test_ledger_has_a_record_per_staged_file_that_matches_it(tmp_path):
    producer(tmp_path).run(50_000, 0, threading.Event())
    records = ledger(tmp_path)
    files = stage_files(tmp_path)
    assert sorted(record["file"] for record in records) == sorted(files)
    for record in records:
        assert record["file"] == f"{record['table']}/batch-{record['batch']:010d}.ndjson"
        assert record["events"] == files[record["file"]].count(b"\n")
        if record["table"] == "orders":
            orders = [json.loads(line) for line in files[record["file"]].splitlines()]
            assert record["orders"] == len(orders)
            assert record["order_lines"] == sum(len(o["lines"]) for o in orders)


def test_a_restart_continues_the_numbering_and_the_shop(tmp_path):
    producer(tmp_path).run(25_000, 0, threading.Event())
    later = Clock(START + timedelta(hours=5))  # the producer was down for hours
    restarted = producer(tmp_path, clock=later)
    restarted.run(25_000, 0, threading.Event())
    assert restarted.events_emitted == 25_000
    orders = [
        json.loads(line)
        for name, data in stage_files(tmp_path).items()
        if name.startswith("orders/")
        for line in data.splitlines()
    ]
    ids = [o["order_id"] for o in orders]
    assert len(ids) == len(set(ids))
    assert ids == [f"O{n:010d}" for n in range(1, len(ids) + 1)]
    batches = [record["batch"] for record in ledger(tmp_path)]
    assert sorted(set(batches)) == list(range(max(batches) + 1))
    # The second run's events are stamped in its own windows, not hours in the past.
    second = [
        o
        for o in orders
        if datetime.fromisoformat(o["ordered_at"]) >= later.now - timedelta(minutes=5)
    ]
    assert second


class Crash(Exception):
    pass


def test_a_pending_plan_regenerates_the_same_bytes(tmp_path, monkeypatch):
    """Die after staging two files of batch 2; the restart finishes it identically."""
    faults = Faults(duplicate_rate=0.03, late_rate=0.01, malformed_rate=0.01)
    producer(tmp_path / "reference", faults=faults).run(60_000, 0, threading.Event())
    expected = stage_files(tmp_path / "reference")

    home = tmp_path / "crashed"
    real_write = LocalStage.write
    written = []

    def die_in_batch_2(self, table, batch_number, lines):
        if batch_number == 2:
            if len(written) == 2:
                raise Crash
            written.append(table)
        return real_write(self, table, batch_number, lines)

    monkeypatch.setattr(LocalStage, "write", die_in_batch_2)
    with pytest.raises(Crash):
        producer(home, faults=faults).run(60_000, 0, threading.Event())
    monkeypatch.undo()
    checkpoint = json.loads((home / "producer.json").read_text())
    assert checkpoint["plan"]["number"] == 2 and checkpoint["next_batch"] == 2
    assert len([name for name in stage_files(home) if "batch-0000000002" in name]) == 2
    assert stage_files(home) != expected

    restarted = producer(home, faults=Faults(duplicate_rate=0.2))  # other flags now
    restarted.recover()
    assert stage_files(home) == expected
    assert restarted.generator.faults == Faults(duplicate_rate=0.2)
    assert restarted.checkpoint.plan is None
    checkpoint = json.loads((home / "producer.json").read_text())
    assert checkpoint["plan"] is None and checkpoint["next_batch"] == 3
    assert ledger_events(home / "ledger.ndjson") == ledger_events(
        tmp_path / "reference" / "ledger.ndjson"
    )
    assert (
        restarted.state.to_dict() == producer(tmp_path / "reference", faults=faults).state.to_dict()
    )


def test_a_crash_after_the_ledger_but_before_the_checkpoint_records_the_batch_twice(
    tmp_path, monkeypatch
):
    real_finish = Checkpoint.finish

    def die_after_batch_1(self, next_batch, state=None):
        if next_batch == 2:
            raise Crash
        return real_finish(self, next_batch, state)

    monkeypatch.setattr(Checkpoint, "finish", die_after_batch_1)
    with pytest.raises(Crash):
        producer(tmp_path).run(60_000, 0, threading.Event())
    monkeypatch.undo()
    before = stage_files(tmp_path)
    producer(tmp_path).recover()
    assert stage_files(tmp_path) == before  # nothing rewritten
    records = Counter((r["table"], r["batch"]) for r in ledger(tmp_path))
    assert {count for (_, batch), count in records.items() if batch == 1} == {2}
    staged = Counter()
    for name, data in stage_files(tmp_path).items():
        staged[name.split("/")[0]] += data.count(b"\n")
    assert ledger_events(tmp_path / "ledger.ndjson") == dict(staged)


def test_emit_batch_stages_a_batch_made_elsewhere_and_advances(tmp_path):
    home = tmp_path / "home"
    produced = producer(home)
    produced.run(5_000, 0, threading.Event())
    made = ShopGenerator(seed=99).batch(
        produced.checkpoint.next_batch, 3_000, START, START + timedelta(minutes=1)
    )
    produced.emit_batch(made)
    assert produced.checkpoint.next_batch == made.number + 1
    for table, lines in made.lines_by_table.items():
        if lines:
            path = home / "stage" / table / f"batch-{made.number:010d}.ndjson"
            assert path.read_text().splitlines() == lines
    produced.run(11_000, 0, threading.Event())  # a count for the producer's lifetime
    assert produced.events_emitted == 11_000
    assert max(r["batch"] for r in ledger(home)) == made.number + 1


def test_backfill_generates_days_of_history_with_the_daily_rhythm_then_goes_live(tmp_path):
    clock = Clock(step=timedelta(minutes=10))
    produced = producer(tmp_path, clock=clock)
    produced.run(100_000, 1.0, threading.Event(), tick_s=0, backfill_days=1)
    assert staged_lines(tmp_path) == 100_000
    went_live = START + timedelta(minutes=10)  # the run's first clock reading
    orders = [
        datetime.fromisoformat(json.loads(line)["ordered_at"])
        for name, data in stage_files(tmp_path).items()
        if name.startswith("orders/")
        for line in data.splitlines()
    ]
    history = [t for t in orders if t < went_live]
    assert min(history) < went_live - timedelta(hours=23)
    # At 1 event/s on average a day of history is ~86k of the 100k events (a Sunday:
    # busier than average), with evening peaks; the rest is live.
    assert 0.7 < len(history) / len(orders) < 0.99
    by_hour = Counter(t.hour for t in history)
    assert by_hour[20] > 2.5 * by_hour[3]
    assert max(orders) > went_live + timedelta(minutes=30)  # then live


def test_a_home_from_the_orders_only_producer_keeps_its_numbering(tmp_path):
    (tmp_path / "producer.json").write_text(
        json.dumps({"next_batch": 5, "next_order_number": 1234})
    )
    produced = producer(tmp_path)
    produced.run(20_000, 0, threading.Event())
    orders = [
        json.loads(line)["order_id"]
        for name, data in stage_files(tmp_path).items()
        if name.startswith("orders/")
        for line in data.splitlines()
    ]
    assert orders[0] == "O0000001234"
    assert all(name.split("/")[1] >= "batch-0000000005" for name in stage_files(tmp_path))


def test_on_a_fixed_start_batches_follow_the_event_count_not_the_clock(tmp_path):
    """--start-at: the same seed and start give the same stage files however the
    wall clock moves; the shop clock starts at the given time; another seed differs."""
    start = datetime(2026, 1, 1)
    slow, fast = Clock(step=timedelta(seconds=7)), Clock(step=timedelta(milliseconds=1))
    for name, clock in (("a", slow), ("b", fast)):
        producer(tmp_path / name, clock=clock).run(45_000, 0, threading.Event(), start_at=start)
    first = stage_files(tmp_path / "a")
    assert first == stage_files(tmp_path / "b")
    assert len({name.split("/")[1] for name in first}) == 3  # 20k + 20k + 5k
    times = [
        datetime.fromisoformat(json.loads(line)["event_at"])
        for data in first.values()
        for line in data.splitlines()
    ]
    # At 1,000 events/s of shop time, 45,000 events span 45 s from the start.
    assert min(times) == start and max(times) < start + timedelta(seconds=45)
    producer(tmp_path / "c", seed=8).run(45_000, 0, threading.Event(), start_at=start)
    assert stage_files(tmp_path / "c") != first


def test_on_a_fixed_start_a_restart_continues_where_the_shop_clock_stopped(tmp_path):
    start = datetime(2026, 1, 1)
    producer(tmp_path / "once").run(40_000, 0, threading.Event(), start_at=start)
    producer(tmp_path / "twice").run(20_000, 0, threading.Event(), start_at=start)
    later = Clock(START + timedelta(days=30))
    producer(tmp_path / "twice", clock=later).run(20_000, 0, threading.Event(), start_at=start)
    assert stage_files(tmp_path / "twice") == stage_files(tmp_path / "once")


def test_the_checkpoint_holds_the_state_as_one_value(tmp_path):
    produced = producer(tmp_path)
    produced.run(25_000, 0, threading.Event())
    saved = json.loads((tmp_path / "producer.json").read_text())
    assert saved["plan"] is None and saved["next_batch"] == 2
    assert ShopState.from_dict(saved["state"]).to_dict() == produced.state.to_dict()
    assert produced.state.next_order > 1
