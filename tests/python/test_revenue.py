"""The revenue convention (README, "Revenue"): net revenue = booked − cancelled
− every refund, each refund counted once: on the order date of the sale line it
returns, or on its own return date when that sale is not in the data. Expected
figures are written out by hand, or computed from the stage files' JSON."""

from __future__ import annotations

import json
import shutil
import sys
from collections import defaultdict
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import duckdb
from conftest import customer_event, deliver, product_event, run, simulate, stamp

DAY_1 = datetime(2026, 3, 2, 10, 0)
DAY_2 = datetime(2026, 3, 3, 10, 0)


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def order(order_id: str, at: datetime, quantity: int, customer_id: str | None = "C1") -> str:
    return json.dumps({
        "event_id": f"e-{order_id}", "event_type": "order_placed", "event_at": stamp(at),
        "order_id": order_id, "customer_id": customer_id, "channel": "web", "currency": "USD",
        "ship_country": "DE", "ordered_at": stamp(at),
        "lines": [{"line_number": 1, "product_id": "P1", "quantity": quantity,
                   "unit_price": 20.0, "discount_amount": 0.0}],
    })  # fmt: skip


def refund(return_id: str, order_id: str | None, at: datetime, quantity: int, amount: float) -> str:
    return json.dumps({
        "event_id": f"e-{return_id}", "event_type": "order_returned", "event_at": stamp(at),
        "return_id": return_id, "order_id": order_id, "customer_id": "C1", "ship_country": "DE",
        "returned_at": stamp(at),
        "lines": [{"line_number": 1, "product_id": "P1", "quantity": quantity,
                   "unit_price": 20.0, "refund_amount": amount}],
    })  # fmt: skip


def cancelled(order_id: str, at: datetime) -> str:
    return json.dumps({
        "event_id": f"e-cancel-{order_id}", "event_type": "order_status_changed",
        "event_at": stamp(at), "order_id": order_id, "status": "cancelled", "status_at": stamp(at),
    })  # fmt: skip


def daily_net(home: Path) -> dict[date, Decimal]:
    return dict(query(home, "select order_date, net_revenue from analytics.rpt_daily_sales"))


def mart_totals(home: Path) -> set[Decimal]:
    """Net revenue summed over each revenue mart: one value when they agree."""
    marts = (
        "rpt_daily_sales", "rpt_sales_per_minute", "rpt_regional_sales",
        "rpt_daily_sales_by_region_category", "rpt_monthly_sales_by_category_region",
        "rpt_product_performance", "rpt_category_performance", "rpt_regional_sales_per_minute",
    )  # fmt: skip
    return {query(home, f"select sum(net_revenue) from analytics.{mart}")[0][0] for mart in marts}


def test_every_refund_counts_once_on_the_day_the_convention_books_it(tmp_path):
    deliver(tmp_path, 0, {
        "customers": [customer_event("c1", "C1", "consumer", datetime(2026, 3, 1))],
        "products": [product_event("p1", "P1", 8.0, datetime(2026, 3, 1))],
        "orders": [order("O1", DAY_1, 2), order("O3", DAY_2, 1)],
        "order_status": [cancelled("O3", DAY_2.replace(hour=11))],
        "returns": [
            refund("R1", "O1", DAY_2, 1, 20.0),  # its sale is in the data: day 1
            refund("R5", "O1", DAY_2, 2, 40.0),  # more than the line kept: still all of it
            refund("R2", "O-OLD", DAY_2, 1, 15.0),  # sold before the data: day 2
            refund("R3", None, DAY_2, 1, 5.0),  # a guest's return, no order known: day 2
            refund("R4", "O2", DAY_2, 1, 10.0),  # its sale arrives later: day 2 for now
        ],
    })  # fmt: skip
    # Day 1: 40 sold − 20 − 40 refunded. Day 2: O3 booked and cancelled (0), − 15 − 5 − 10.
    assert daily_net(tmp_path) == {DAY_1.date(): Decimal(-20), DAY_2.date(): Decimal(-30)}
    assert mart_totals(tmp_path) == {Decimal(-50)}

    # The late sale arrives: R4 moves from its return date to the sale's day.
    deliver(tmp_path, 1, {"orders": [order("O2", DAY_1.replace(hour=12), 2)]})
    assert daily_net(tmp_path) == {DAY_1.date(): Decimal(10), DAY_2.date(): Decimal(-20)}
    assert mart_totals(tmp_path) == {Decimal(-10)}
    [(orders_day_2, refunds_day_2)] = query(
        tmp_path,
        "select order_count, refund_amount from analytics.rpt_daily_sales"
        f" where order_date = '{DAY_2.date()}'",
    )
    assert (orders_day_2, refunds_day_2) == (1, Decimal(20))


def staged_events(stage: Path, table: str) -> list[dict]:
    return [
        json.loads(text)
        for path in sorted((stage / table).glob("*.ndjson"))
        for text in path.read_text(encoding="utf-8").splitlines()
    ]


def expected_from_stage(stage: Path) -> tuple[Decimal, dict[date, Decimal]]:
    """Net revenue from the stage files alone: every staged sale line, less the
    booked revenue of cancelled orders, less every staged refund."""
    cancelled_orders = {
        event["order_id"]
        for event in staged_events(stage, "order_status")
        if event["status"] == "cancelled"
    }
    daily: dict[date, Decimal] = defaultdict(Decimal)
    sold_on: dict[tuple[str, str], date] = {}
    for event in staged_events(stage, "orders"):
        day = datetime.fromisoformat(event["ordered_at"]).date()
        for line in event["lines"]:
            sold_on.setdefault((event["order_id"], line["product_id"]), day)
            if event["order_id"] not in cancelled_orders:
                daily[day] += Decimal(str(line["unit_price"])) * line["quantity"] - Decimal(
                    str(line["discount_amount"])
                )
    for event in staged_events(stage, "returns"):
        for line in event["lines"]:
            returned = datetime.fromisoformat(event["returned_at"]).date()
            key = (line.get("order_id") or event["order_id"], line["product_id"])
            daily[sold_on.get(key, returned)] -= Decimal(str(line["refund_amount"]))
    return sum(daily.values(), Decimal(0)), dict(daily)


def test_generated_returns_of_orders_before_the_data_count_on_their_return_date(tmp_path):
    # A shop whose first day of orders is not in the data: the returns of those
    # orders, days later, have no sale to reduce.
    producer_home = tmp_path / "producer"
    made = simulate("--events", "10000", "--rate", "0.05", "--backfill", "6", "--seed", "3",
                    home=producer_home)  # fmt: skip
    assert made.returncode == 0, made.stderr + made.stdout
    home = tmp_path / "warehouse"
    shutil.copytree(producer_home / "stage", home / "stage")
    orders = sorted((home / "stage" / "orders").glob("*.ndjson"))
    for path in orders[:2]:
        path.unlink()
    drained = run([sys.executable, "scripts/pipeline.py", "--drain", "--home", str(home)])
    assert drained.returncode == 0, drained.stderr + drained.stdout

    total, daily = expected_from_stage(home / "stage")
    [(without_sale,)] = query(
        home, "select count(*) from analytics.fct_returns where order_line_id is null"
    )
    assert without_sale > 0  # the case under test happened
    shown = daily_net(home)
    for day in shown.keys() | daily.keys():
        assert shown.get(day, 0) == daily.get(day, 0), day
    assert mart_totals(home) == {total}
    [(sales_net, refunds_without_sale)] = query(
        home,
        "select (select sum(net_revenue) from analytics.fct_sales),"
        " (select sum(refund_amount) from analytics.fct_returns where order_line_id is null)",
    )
    assert sales_net - refunds_without_sale == total
