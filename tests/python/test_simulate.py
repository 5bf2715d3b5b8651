"""The vertical slice end to end, as a user runs it: simulate.py on a fresh home,
checked against the stage files and the producer's ledger, read independently."""

import json
import sys
import threading
from datetime import datetime, timedelta
from decimal import Decimal

import duckdb
import pytest
from conftest import line_net_revenue, run, simulate, staged_order_lines

from snowcart.sources.generator import ShopGenerator
from snowcart.sources.producer import Producer
from snowcart.stages.local import LocalStage


def query(home, sql):
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_simulate_5000_events_populates_the_marts(tmp_path):
    result = simulate("--events", "5000", "--home", str(tmp_path))
    assert result.returncode == 0, result.stderr + result.stdout

    lines = staged_order_lines(tmp_path / "stage")
    ledger = [json.loads(text) for text in (tmp_path / "ledger.ndjson").read_text().splitlines()]
    assert sum(record["events"] for record in ledger) == 5000
    orders_ledger = [record for record in ledger if record["table"] == "orders"]
    assert sum(record["order_lines"] for record in orders_ledger) == len(lines)
    ledger_orders = sum(record["orders"] for record in orders_ledger)
    assert ledger_orders > 100

    sales = query(tmp_path, "select order_line_id, booked_revenue from analytics.fct_sales")
    expected_ids = {f"{line['order_id']}-{line['line_number']}" for line in lines}
    assert len(sales) == len(lines)
    assert {row[0] for row in sales} == expected_ids

    expected_net = sum(line_net_revenue(line) for line in lines)
    [(fact_net, mart_net, mart_orders)] = query(
        tmp_path,
        """
        select
            (select sum(booked_revenue) from analytics.fct_sales),
            (select sum(booked_revenue) from analytics.rpt_sales_per_minute),
            (select sum(order_count) from analytics.rpt_sales_per_minute)
        """,
    )
    assert Decimal(fact_net) == expected_net
    assert Decimal(mart_net) == expected_net
    assert mart_orders == ledger_orders
    assert "done: 5,000 events produced" in result.stdout
    # Not a terminal: compact lines, then the final state after the drain, with
    # counts as integers and the backlogs as they are once everything is loaded.
    status = [text for text in result.stdout.splitlines() if text.startswith("[snowcart")]
    assert status and all(len(text) < 400 for text in status[:-1])
    final = status[-1]
    assert "state=done" in final and "stage backlog (files)=0" in final, final
    assert f"orders={ledger_orders:,} " in final, final


def test_events_zero_only_drains_what_is_staged(tmp_path):
    assert simulate("--events", "10", "--rate", "0", "--home", str(tmp_path)).returncode == 0
    (before,) = query(tmp_path, "select count(*) from analytics.fct_sales")[0]
    assert before >= 1  # even 10 events hold an order (issue #15, item 6c)

    # A batch staged by a producer that died before the pipeline loaded it.
    start = datetime(2026, 1, 1)
    # Orders only, numbered far from the home's own (as a producer elsewhere would).
    generator = ShopGenerator(seed=99)
    orphan, _ = generator.make(
        generator.fresh_state(next_order=10_000_000), 900, 3000, start, start + timedelta(minutes=1)
    )
    orphan_lines = orphan.lines_by_table["orders"]
    assert len(orphan_lines) >= 50
    LocalStage(tmp_path / "stage").write("orders", 900, orphan_lines)

    result = simulate("--events", "0", "--home", str(tmp_path))
    assert result.returncode == 0, result.stderr
    assert "done: 0 events produced" in result.stdout
    (after,) = query(tmp_path, "select count(*) from analytics.fct_sales")[0]
    assert after == before + orphan.ledger["orders"]["order_lines"]

    # Nothing left: a second drain changes nothing.
    assert simulate("--events", "0", "--home", str(tmp_path)).returncode == 0
    assert query(tmp_path, "select count(*) from analytics.fct_sales")[0][0] == after


def test_a_second_run_continues_numbering_instead_of_reusing_ids(tmp_path):
    """A second run on the same home continues the ids of the first, and says
    that --backfill, which only a fresh home can use, was ignored."""
    first = simulate("--events", "3000", "--rate", "0", "--home", str(tmp_path))
    assert first.returncode == 0 and "ignored" not in first.stdout
    second = simulate("--events", "3000", "--rate", "0", "--backfill", "2", "--home", str(tmp_path))
    assert second.returncode == 0, second.stderr[-3000:]
    assert "--backfill 2 ignored: this home has history already" in second.stdout
    [(orders, distinct_orders, last)] = query(
        tmp_path,
        "select count(*), count(distinct order_id), max(order_id) from staging.stg_shop__orders",
    )
    ledger = [json.loads(text) for text in (tmp_path / "ledger.ndjson").read_text().splitlines()]
    emitted = sum(r["orders"] for r in ledger if r["table"] == "orders")
    assert orders == distinct_orders == emitted > 0
    assert last == f"O{emitted:010d}"


def test_reconcile_passes_after_a_run_and_catches_a_lost_line(tmp_path):
    import sys

    from conftest import run

    assert simulate("--events", "3000", "--rate", "0", "--home", str(tmp_path)).returncode == 0
    ok = run([sys.executable, "scripts/reconcile.py", "--home", str(tmp_path)])
    assert ok.returncode == 0, ok.stdout + ok.stderr
    assert "reconciled" in ok.stdout

    # A line the pipe never saw (appended after the load) must show up as a difference.
    staged = sorted((tmp_path / "stage" / "orders").glob("*.ndjson"))[0]
    with open(staged, "a") as handle:
        handle.write('{"event_id": "late"}\n')
    bad = run([sys.executable, "scripts/reconcile.py", "--home", str(tmp_path)])
    assert bad.returncode == 1
    ledger = [json.loads(text) for text in (tmp_path / "ledger.ndjson").read_text().splitlines()]
    emitted = sum(r["events"] for r in ledger if r["table"] == "orders")
    assert (
        f"MISMATCH orders: producer emitted {emitted:,} lines but the stage holds {emitted + 1:,}"
        in bad.stderr
    )


def test_full_refresh_between_incremental_runs_loses_nothing(tmp_path):
    from conftest import dbt

    assert simulate("--events", "3000", "--rate", "0", "--home", str(tmp_path)).returncode == 0
    refreshed = dbt("build", "--full-refresh", home=tmp_path)
    assert refreshed.returncode == 0, refreshed.stdout[-2000:]
    assert simulate("--events", "2000", "--rate", "0", "--home", str(tmp_path)).returncode == 0

    ledger = [json.loads(text) for text in (tmp_path / "ledger.ndjson").read_text().splitlines()]
    emitted = sum(r["orders"] for r in ledger if r["table"] == "orders")
    lines = staged_order_lines(tmp_path / "stage")
    [(rows, distinct_ids, orders)] = query(
        tmp_path,
        "select count(*), count(distinct order_line_id), count(distinct order_id)"
        " from analytics.fct_sales",
    )
    assert rows == distinct_ids == len(lines)
    assert orders == emitted > 0
    [(staged_events,)] = query(tmp_path, "select count(*) from staging.stg_shop__orders")
    assert staged_events == emitted


def test_a_drain_finishes_a_batch_a_crash_interrupted(tmp_path, monkeypatch):
    """Die after staging one file of a batch; `simulate.py --events 0` (drain only)
    must still finish that batch, so the stage and the ledger agree."""
    import threading

    from snowcart.sources.generator import ShopGenerator
    from snowcart.sources.producer import Producer
    from snowcart.stages.local import LocalStage

    real_write = LocalStage.write
    written = []

    def die_after_first_file_of_batch_1(self, table, batch_number, lines):
        if batch_number == 1:
            if written:
                raise KeyboardInterrupt  # stands in for SIGKILL between two files
            written.append(table)
        return real_write(self, table, batch_number, lines)

    monkeypatch.setattr(LocalStage, "write", die_after_first_file_of_batch_1)
    producer = Producer(
        ShopGenerator(seed=11), LocalStage(tmp_path / "stage"), tmp_path / "ledger.ndjson",
        tmp_path / "producer.json",
    )  # fmt: skip
    with pytest.raises(KeyboardInterrupt):
        producer.run(40_000, 0, threading.Event())
    monkeypatch.undo()
    assert json.loads((tmp_path / "producer.json").read_text())["plan"]["number"] == 1

    assert simulate("--events", "0", "--home", str(tmp_path)).returncode == 0
    reconciled = run([sys.executable, "scripts/reconcile.py"], home=tmp_path)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert json.loads((tmp_path / "producer.json").read_text())["plan"] is None


def test_same_seed_and_start_at_on_fresh_homes_give_byte_identical_stage_files(tmp_path):
    """Two separate simulate.py processes, same --seed and --start-at: every stage
    file has the same bytes (batches follow the event count, not the machine's
    speed); the shop clock starts at --start-at; another seed differs."""
    flags = ("--events", "20000", "--seed", "7", "--start-at", "2026-01-01T00:00:00Z")
    for name in ("a", "b"):
        result = simulate(*flags, "--rate", "0", "--home", str(tmp_path / name))
        assert result.returncode == 0, result.stderr + result.stdout

    def stage(home):
        root = home / "stage"
        return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}

    first = stage(tmp_path / "a")
    assert first == stage(tmp_path / "b")
    assert {name.split("/")[0] for name in first} >= {"orders", "payments", "web_events"}
    event_times = {
        json.loads(line)["event_at"][:10] for data in first.values() for line in data.splitlines()
    }
    assert event_times == {"2026-01-01"}

    # The same run in this process gives the same bytes; another seed does not.
    import threading
    from datetime import datetime

    from snowcart.sources.producer import Producer

    for seed in (7, 8):
        home = tmp_path / f"seed-{seed}"
        Producer(
            ShopGenerator(seed=seed), LocalStage(home / "stage"), home / "ledger.ndjson",
            home / "producer.json",
        ).run(20_000, 0, threading.Event(), start_at=datetime(2026, 1, 1))  # fmt: skip
    assert stage(tmp_path / "seed-7") == first
    assert stage(tmp_path / "seed-8") != first


# ---------------------------------------------------------------- a small first run

FIRST_ORDER_EVENTS = 5  # docs/generator.md: a first batch this large holds an order


class FastClock:
    """A wall clock that moves a second each time it is read (no waiting)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


@pytest.mark.parametrize("clock", ["shop clock", "wall clock"])
def test_five_events_on_a_fresh_home_stage_an_order_and_what_it_references(tmp_path, clock):
    """Issue #15, item 6c: `simulate.py --events 5` (with --start-at: the
    producer's own clock; without: the wall clock at the default rate) stages an
    order with its lines, and every product and customer it references is
    created in the same batch, at or before the order. Read from the stage files."""
    start = datetime(2026, 1, 5, 9, 0, 0)
    for seed in [*range(8), 42]:
        home = tmp_path / str(seed)
        producer = Producer(
            ShopGenerator(seed=seed), LocalStage(home / "stage"), home / "ledger.ndjson",
            home / "producer.json", now=FastClock(start),
        )  # fmt: skip
        if clock == "shop clock":
            producer.run(FIRST_ORDER_EVENTS, 0, threading.Event(), start_at=start)
        else:
            producer.run(FIRST_ORDER_EVENTS, 1000.0, threading.Event(), tick_s=0)
        staged = {
            path.parent.name: [json.loads(line) for line in path.read_text().splitlines()]
            for path in (home / "stage").rglob("*.ndjson")
        }
        assert sum(len(events) for events in staged.values()) == FIRST_ORDER_EVENTS
        created = {
            event.get("product_id") or event["customer_id"]: event["updated_at"]
            for table in ("products", "customers")
            for event in staged.get(table, [])
            if event["event_type"].endswith("_created")
        }
        orders = staged.get("orders", [])
        assert orders, (seed, {table: len(events) for table, events in staged.items()})
        for order in orders:
            assert order["lines"], order
            needed = [line["product_id"] for line in order["lines"]]
            needed += [order["customer_id"]] if order["customer_id"] is not None else []
            for reference in needed:
                assert reference in created, (seed, reference, order)
                assert created[reference] <= order["ordered_at"], (seed, reference, order)
