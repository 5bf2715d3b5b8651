"""The dbt warehouse end to end: SCD2 point-in-time keys, late-arriving
dimensions, quarantine and deduplication against the generator's ledger, and a
full refresh against the incremental history of the same events."""

from __future__ import annotations

import json
import shutil
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
from conftest import customer_event, dbt, deliver, product_event, run, simulate, stamp

FAULTS = (
    "--duplicate-rate", ".02", "--malformed-rate", ".01", "--late-rate", ".02",
    "--schema-drift-rate", ".01", "--out-of-order-rate", ".05", "--invalid-rate", ".02",
)  # fmt: skip


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def order_event(event_id: str, order_id: str, customer_id: str, at: datetime) -> str:
    return json.dumps({
        "event_id": event_id, "event_type": "order_placed", "event_at": stamp(at),
        "order_id": order_id, "customer_id": customer_id, "channel": "web", "currency": "USD",
        "ship_country": "DE", "ordered_at": stamp(at),
        "lines": [{"line_number": 1, "product_id": "P1", "quantity": 2, "unit_price": 20.0,
                   "discount_amount": 0.0}],
    })  # fmt: skip


def test_each_order_line_points_at_the_version_valid_when_ordered(tmp_path):
    """C1 changes segment and P1 its cost between C1's two orders; C2's order
    arrives before C2 does (unknown member), then is corrected."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    t0, t1, t2, t3 = (now - timedelta(hours=h) for h in (4, 3, 2, 1))
    deliver(tmp_path, 1, {
        "customers": [customer_event("E-C1-1", "C1", "consumer", t0)],
        "products": [product_event("E-P1-1", "P1", 5.0, t0)],
        "orders": [order_event("E-O1", "O1", "C1", t1)],
    })  # fmt: skip
    deliver(tmp_path, 2, {
        "customers": [customer_event("E-C1-2", "C1", "small_business", t2, "updated")],
        "products": [product_event("E-P1-2", "P1", 8.0, t2, "updated")],
        "orders": [order_event("E-O2", "O2", "C1", t3), order_event("E-O3", "O3", "C2", t3)],
    })  # fmt: skip

    sql = """
        select sales.order_id, sales.customer_key, customers.customer_segment,
               sales.unit_cost, sales.cost_amount
        from analytics.fct_sales as sales
        left join analytics.dim_customers as customers using (customer_key)
        order by sales.order_id
    """
    # What the events say, independently of the models: the segment and cost in
    # force at each order time.
    o1, o2, o3 = query(tmp_path, sql)
    assert (o1[2], o1[3], o1[4]) == ("consumer", Decimal("5"), Decimal("10"))
    assert (o2[2], o2[3], o2[4]) == ("small_business", Decimal("8"), Decimal("16"))
    assert o1[1] != o2[1]
    assert o3[1] == "-1"  # C2 has not arrived: the unknown member, not a lost line

    # C2 arrives late, with a version valid before its order.
    deliver(tmp_path, 3, {"customers": [customer_event("E-C2-1", "C2", "consumer", t0)]})
    o1_after, o2_after, o3_after = query(tmp_path, sql)
    assert (o1_after, o2_after) == (o1, o2)
    assert o3_after[1] not in ("-1", "-2") and o3_after[2] == "consumer"
    versions = query(
        tmp_path,
        "select customer_id, customer_segment, valid_from, valid_to, is_current"
        " from analytics.dim_customers where customer_id = 'C1' order by valid_from",
    )
    assert versions == [
        ("C1", "consumer", t0, t2, False),
        ("C1", "small_business", t2, None, True),
    ]


def deleted(event_id: str, customer_id: str, at: datetime) -> str:
    return json.dumps({
        "event_id": event_id, "event_type": "customer_deleted", "event_at": stamp(at),
        "customer_id": customer_id, "updated_at": stamp(at),
    })  # fmt: skip


def test_deleted_customer_keeps_history_and_loses_its_current_version(tmp_path):
    """A deletion closes the last version at the deletion's own time (not at the
    run that saw it), so a customer created again with an earlier time than that
    run gets a version that follows, never overlaps. Each load's drain runs
    every data test."""
    now = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
    t0, t1, t2 = now - timedelta(hours=3), now - timedelta(hours=2), now - timedelta(hours=1)
    deliver(tmp_path, 1, {"customers": [customer_event("E-C1-1", "C1", "consumer", t0)]})
    deliver(tmp_path, 2, {"customers": [deleted("E-C1-2", "C1", t1)]})
    versions_sql = (
        "select customer_segment, valid_from, valid_to, is_current from analytics.dim_customers"
        " where customer_id = 'C1' order by valid_from"
    )
    assert query(tmp_path, versions_sql) == [("consumer", t0, t1, False)]

    # Back, with a time before the run that saw the deletion.
    deliver(tmp_path, 3, {"customers": [customer_event("E-C1-3", "C1", "vip", t2, "updated")]})
    assert query(tmp_path, versions_sql) == [
        ("consumer", t0, t1, False),
        ("vip", t2, None, True),
    ]
    # (Equal times: the unit test int_customers_current_keeps_the_newest_time_…)


@pytest.fixture(scope="module")
def faulty_home(tmp_path_factory) -> Path:
    """Ten days of history with every fault knob on, loaded in many cycles."""
    home = tmp_path_factory.mktemp("faulty")
    args = ("--events", "40000", "--rate", "0.1", "--backfill", "10", *FAULTS)
    result = simulate(*args, "--home", str(home))
    assert result.returncode == 0, result.stderr + result.stdout
    return home


def ledger_totals(home: Path) -> dict[str, dict[str, float]]:
    totals: dict[str, dict[str, float]] = {}
    for text in (home / "ledger.ndjson").read_text().splitlines():
        record = json.loads(text)
        table = totals.setdefault(record["table"], {})
        for name, value in record.items():
            if name not in ("batch", "table", "file"):
                table[name] = table.get(name, 0) + value
    return totals


def test_quarantine_dedup_and_staged_counts_reconcile_with_the_ledger(faulty_home):
    ledger = ledger_totals(faulty_home)
    tables = {
        "orders": "shop__orders",
        "order_status": "shop__order_status_changes",
        "payments": "shop__payments",
        "inventory": "shop__inventory_movements",
        "customers": "shop__customers",
        "products": "shop__products",
        "web_events": "shop__web_events",
        "returns": "shop__return_lines",
    }
    for table, model in tables.items():
        [(quarantined, valid, raw_rows, raw_distinct)] = query(
            faulty_home,
            f"""
            select
                (select count(distinct event_id) from quarantine.qrn_{model}),
                (select count(distinct event_id) from staging.stg_{model}),
                (select count(*) from raw.{table}),
                (select count(distinct payload ->> 'event_id') from raw.{table})
            """,
        )
        # The generator's own count of the defects it injected.
        assert quarantined == ledger[table]["invalid"], table
        assert raw_rows - raw_distinct == ledger[table]["duplicates"], table
        assert valid + quarantined == raw_distinct, table
    # The history is long enough for every table to hold events, and defects.
    assert ledger["returns"]["returns"] > 0 and ledger["inventory"]["movements"] > 0
    assert sum(ledger[table]["invalid"] for table in tables) > 100

    [(orders, lines, booked)] = query(
        faulty_home,
        "select count(distinct order_id), count(*), sum(booked_revenue) from analytics.fct_sales",
    )
    assert orders == ledger["orders"]["orders"]
    assert lines == ledger["orders"]["order_lines"]
    assert round(float(booked), 2) == round(ledger["orders"]["net_revenue"], 2)

    reconciled = run([sys.executable, "scripts/reconcile.py", "--home", str(faulty_home)])
    assert reconciled.returncode == 0, reconciled.stderr + reconciled.stdout
    assert "quarantined" in reconciled.stdout


def dump(home: Path) -> dict[str, list[tuple]]:
    """Every table in analytics, rows sorted, load metadata left out."""
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        names = [
            row[0]
            for row in con.execute(
                "select table_name from information_schema.tables"
                " where table_schema = 'analytics' order by 1"
            ).fetchall()
        ]
        contents = {}
        for name in names:
            columns = [
                row[0]
                for row in con.execute(
                    "select column_name from information_schema.columns"
                    " where table_schema = 'analytics' and table_name = ? and column_name != '_loaded_at'"
                    " order by ordinal_position",
                    [name],
                ).fetchall()
            ]
            select = ", ".join(f'"{column}"' for column in columns)
            rows = con.execute(f"select {select} from analytics.{name}").fetchall()
            contents[name] = sorted(rows, key=repr)
    return contents


def test_full_refresh_equals_the_incremental_history(faulty_home):
    incremental = dump(faulty_home)
    assert len(incremental["fct_sales"]) > 1000 and len(incremental["rpt_inventory_current"]) > 0
    result = dbt("build", "--full-refresh", home=faulty_home)
    assert result.returncode == 0, result.stdout[-3000:]
    refreshed = dump(faulty_home)
    assert refreshed.keys() == incremental.keys()
    for name in incremental:
        assert refreshed[name] == incremental[name], name


def test_source_freshness_warns_then_errors_as_loads_age(faulty_home, tmp_path):
    fresh = dbt("source", "freshness", home=faulty_home)
    assert fresh.returncode == 0, fresh.stdout[-2000:]
    assert "ERROR STALE" not in fresh.stdout

    # The same warehouse, with the orders landing table's last load 2 hours ago.
    shutil.copy(faulty_home / "warehouse.duckdb", tmp_path / "warehouse.duckdb")
    with duckdb.connect(str(tmp_path / "warehouse.duckdb")) as con:
        con.execute("update raw.orders set _loaded_at = _loaded_at - interval 1 day")
    stale = dbt("source", "freshness", "--select", "source:shop.orders", home=tmp_path)
    assert stale.returncode == 1
    assert "ERROR STALE" in stale.stdout and "freshness of shop.orders" in stale.stdout


def movement_event(event_id: str, product_id: str, kind: str, delta: int, at: datetime) -> str:
    return json.dumps({
        "event_id": event_id, "event_type": "inventory_movement", "event_at": stamp(at),
        "movement_id": event_id, "product_id": product_id, "movement_type": kind,
        "quantity_delta": delta, "moved_at": stamp(at),
    })  # fmt: skip


def test_a_young_home_sells_at_the_pace_of_the_days_it_has(tmp_path):
    # Two days of data: 40 of 100 units sold, 20 a day; 60 left last 3 days, so
    # the product must be flagged (under 14 days), not read as 105 days of stock
    # (a 28-day average over 2 days of sales).
    start = datetime(2026, 3, 1, 9, 0)
    deliver(tmp_path, 0, {
        "products": [product_event("p1", "P1", 8.0, start)],
        "inventory": [
            movement_event("m1", "P1", "sale", -20, start),
            movement_event("m2", "P1", "sale", -20, start + timedelta(days=1)),
            movement_event("m3", "P1", "restock", 0, start + timedelta(days=2)),
        ],
    })  # fmt: skip
    [(on_hand, pace, days_left, reorder)] = query(
        tmp_path,
        "select stock_on_hand, average_daily_units_sold, days_until_stockout, needs_reorder"
        " from analytics.rpt_inventory_current where product_id = 'P1'",
    )
    assert (on_hand, float(pace), float(days_left), reorder) == (60, 20.0, 3.0, True)
