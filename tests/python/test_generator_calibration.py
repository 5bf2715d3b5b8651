"""Issue #14 item 3: a generated month is a believable shop. Each range below is
documented in docs/generator.md with its published source; every figure is
computed here from the NDJSON lines alone (parsed JSON, plain Python)."""

import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from snowcart.sources.generator import ShopGenerator

START = datetime(2026, 1, 5)  # a Monday
DAYS = 30
RATE = 0.25  # events/s on average: ~650k events in the month
STEP = timedelta(hours=6)  # the producer's backfill step at this rate
# What the staging models accept (models/staging/shop/base/base_shop__inventory_movements.sql).
MOVEMENT_TYPES = {"restock", "sale", "return", "adjustment"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def week(moment: datetime) -> int:
    return (moment - START).days // 7


@pytest.fixture(scope="module")
def month():
    """A month of history made as the producer's backfill makes it (6-hour
    batches of rate x activity events): {table: [(batch, event)]}."""
    generator = ShopGenerator(seed=42)
    events = defaultdict(list)
    owed, cursor, number = 0.0, START, 0
    while cursor < START + timedelta(days=DAYS):
        end = cursor + STEP
        owed += RATE * generator.activity(cursor, end)
        size = int(owed)
        owed -= size
        batch = generator.batch(number, size, cursor, end)
        for table, lines in batch.lines_by_table.items():
            events[table].extend((number, json.loads(line)) for line in lines)
        cursor, number = end, number + 1
    return events


def orders_of(month):
    return [event for _, event in month["orders"]]


def test_most_customers_order_once_or_twice_in_a_month(month):
    """Repeat purchase. In the UCI Online Retail data (a real online shop, a
    year of invoices) 88-95% of a month's customers place one or two orders,
    17-32% more than one, the busiest 9-45; repeat-customer benchmarks
    (Shopify, Metrilo) put repeat customers at 20-30%."""
    orders = orders_of(month)
    per_customer = Counter(o["customer_id"] for o in orders if o["customer_id"] is not None)
    customers = len(per_customer)
    once_or_twice = sum(count <= 2 for count in per_customer.values()) / customers
    repeat = sum(count >= 2 for count in per_customer.values()) / customers
    assert once_or_twice >= 0.8, once_or_twice
    assert 0.1 <= repeat <= 0.4, repeat
    assert max(per_customer.values()) <= 50, per_customer.most_common(3)
    assert max(per_customer.values()) / len(orders) < 0.005


def test_new_customers_arrive_with_the_orders(month):
    """The customer base grows with the orders: customer_created events come
    all month long, each one just before that customer's first order."""
    orders = orders_of(month)
    created = {
        e["customer_id"]: (batch, at(e["event_at"]))
        for batch, e in month["customers"]
        if e["event_type"] == "customer_created"
    }
    later = {c: t for c, (batch, t) in created.items() if batch > 0}
    assert 0.3 <= len(later) / len(orders) <= 0.8, (len(later), len(orders))
    orders_per_week = Counter(week(at(o["ordered_at"])) for o in orders)
    created_per_week = Counter(week(t) for t in later.values())
    for w in range(4):
        assert created_per_week[w] >= 0.3 * orders_per_week[w], (
            w,
            created_per_week,
            orders_per_week,
        )
    first_order = {}
    for order in orders:
        first_order.setdefault(order["customer_id"], at(order["ordered_at"]))
    gaps = [first_order[c] - t for c, t in later.items() if c in first_order]
    assert len(gaps) >= 0.95 * len(later)  # a customer is created by its first order
    assert all(timedelta(0) <= gap <= timedelta(minutes=5) for gap in gaps)


def sessions(month) -> dict[str, set[str]]:
    kinds = defaultdict(set)
    for _, event in month["web_events"]:
        kinds[event["session_id"]].add(event["event_type"])
    return kinds


def test_a_few_percent_of_storefront_sessions_convert(month):
    """E-commerce session conversion: about 1-4% on average, a few percent for
    good shops (IRP Commerce, Littledata, Shopify benchmarks)."""
    kinds = sessions(month)
    bought = sum("purchase" in k for k in kinds.values())
    assert 0.01 <= bought / len(kinds) <= 0.05, (bought, len(kinds))


def test_about_seventy_percent_of_carts_are_abandoned(month):
    """Baymard Institute: the documented average cart abandonment rate is ~70%."""
    kinds = sessions(month)
    carts = [k for k in kinds.values() if "add_to_cart" in k]
    abandoned = sum("purchase" not in k for k in carts) / len(carts)
    assert 0.6 <= abandoned <= 0.8, abandoned


def test_purchase_orders_keep_most_products_in_stock(month):
    """Stock falls with sales and is replenished by purchase orders (restock
    movements) all month long; at the end most products are in stock and few
    need a reorder by the dashboard's rule (rpt_inventory_current: out of stock,
    or under 14 days of the last 28 days' sales pace)."""
    initial = {
        e["product_id"]: e["initial_stock"]
        for _, e in month["products"]
        if e["event_type"] == "product_created"
    }
    movements = [e for _, e in month["inventory"]]
    assert {m["movement_type"] for m in movements} <= MOVEMENT_TYPES
    restocks = [m for m in movements if m["movement_type"] == "restock"]
    assert {week(at(m["moved_at"])) for m in restocks} >= {0, 1, 2, 3}
    assert all(m["quantity_delta"] > 0 for m in restocks)
    assert len({m["product_id"] for m in restocks}) >= 0.5 * len(initial)

    stock = dict(initial)
    end_of_day, day = [], 0
    for m in sorted(movements, key=lambda m: m["moved_at"]):
        while at(m["moved_at"]) >= START + timedelta(days=day + 1):
            end_of_day.append(sum(level > 0 for level in stock.values()) / len(stock))
            day += 1
        stock[m["product_id"]] += m["quantity_delta"]
    assert min(end_of_day) >= 0.9, end_of_day  # in stock, day after day
    assert sum(level > 0 for level in stock.values()) >= 0.95 * len(stock)

    newest = max(at(m["moved_at"]) for m in movements)
    sold = Counter()
    for m in movements:
        if m["movement_type"] == "sale" and at(m["moved_at"]) > newest - timedelta(days=28):
            sold[m["product_id"]] -= m["quantity_delta"]
    reorder = sum(stock[p] <= 0 or (sold[p] > 0 and stock[p] / (sold[p] / 28) < 14) for p in stock)
    assert reorder <= 0.25 * len(stock), reorder


def test_revenue_is_spread_over_the_catalogue_as_a_long_tail(month):
    """Pareto-like product revenue: the best 20% of products bring about
    50-80% of revenue, and no single product dominates."""
    revenue = Counter()
    for order in orders_of(month):
        for line in order["lines"]:
            revenue[line["product_id"]] += Decimal(str(line["unit_price"])) * line[
                "quantity"
            ] - Decimal(str(line["discount_amount"]))
    total = sum(revenue.values())
    ranked = sorted(revenue.values(), reverse=True)
    products = len([e for _, e in month["products"] if e["event_type"] == "product_created"])
    assert len(revenue) >= 0.95 * products  # nearly every product sells
    assert ranked[0] / total < 0.10, ranked[0] / total
    top_fifth = sum(ranked[: products // 5]) / total
    assert 0.5 <= top_fifth <= 0.8, top_fifth
