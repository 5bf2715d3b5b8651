"""The shop generator, checked against the JSON it writes, parsed here."""

import contextlib
import itertools
import json
from collections import Counter, defaultdict
from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from snowcart.settings import landing_tables
from snowcart.sources.generator import TABLES, Faults, ShopGenerator, ShopState

START = datetime(2026, 1, 5, 0, 0, 0)  # a Monday
TIME_FIELD = {
    "orders": "ordered_at",
    "order_status": "status_at",
    "returns": "returned_at",
    "payments": "paid_at",
    "inventory": "moved_at",
    "customers": "updated_at",
    "products": "updated_at",
    "web_events": "occurred_at",
}
FIELDS = {
    "orders": {"order_id", "customer_id", "channel", "currency", "ship_country", "lines"},
    "order_status": {"order_id", "status"},
    "returns": {"return_id", "order_id", "customer_id", "lines"},
    "payments": {"payment_id", "order_id", "method", "amount", "status"},
    "inventory": {"movement_id", "product_id", "movement_type", "quantity_delta"},
    "customers": {
        "customer_id", "name", "email", "country_code", "region", "city", "age_group",
        "segment", "signup_at",
    },
    "products": {"product_id", "name", "category", "unit_cost", "list_price", "initial_stock"},
    "web_events": {"session_id", "customer_id", "product_id"},
}  # fmt: skip
STATUS_BEFORE = {"shipped": "paid", "delivered": "shipped", "returned": "delivered"}


def at(text: str) -> datetime:
    return datetime.fromisoformat(text)


def money(value) -> Decimal:
    return Decimal(str(value))


def run(faults=None, batches=8, events=20_000, hours=6.0, seed=11, generator=None):
    """Consecutive batches: [(window_start, window_end, batch)]."""
    generator = generator or ShopGenerator(seed=seed, faults=faults or Faults())
    out, step = [], timedelta(hours=hours)
    for number in range(batches):
        start = START + number * step
        out.append((start, start + step, generator.batch(number, events, start, start + step)))
    return out


def parsed(batches, table):
    """(batch index, event) for every well-formed line of a table, in emission order."""
    rows = []
    for index, (_, _, batch) in enumerate(batches):
        for line in batch.lines_by_table[table]:
            with contextlib.suppress(json.JSONDecodeError):
                rows.append((index, json.loads(line)))
    return rows


@pytest.fixture(scope="module")
def clean():
    return run()


# ---------------------------------------------------------------- reproducibility


def test_same_seed_gives_identical_batches_and_another_seed_does_not():
    first = run(batches=3, events=5000, hours=2)
    second = run(batches=3, events=5000, hours=2)
    for (_, _, a), (_, _, b) in zip(first, second, strict=True):
        assert a.lines_by_table == b.lines_by_table
        assert a.ledger == b.ledger
    other = run(batches=1, events=5000, hours=2, seed=12)[0][2]
    assert other.lines_by_table["orders"] != first[0][2].lines_by_table["orders"]


def test_a_restored_state_continues_byte_for_byte():
    faults = Faults(duplicate_rate=0.05, late_rate=0.02, out_of_order_rate=0.1)
    reference = run(faults=faults, batches=5, events=8000, hours=3)
    generator = ShopGenerator(seed=11, faults=faults)
    for number in range(2):
        start = START + number * timedelta(hours=3)
        generator.batch(number, 8000, start, start + timedelta(hours=3))
    state = ShopState.from_json(generator.state.to_json())  # must survive JSON
    assert state.to_dict() == generator.state.to_dict()
    restored = ShopGenerator(seed=11, faults=faults, state=state)
    for number in range(2, 5):
        start, end, expected = reference[number]
        assert restored.batch(number, 8000, start, end).lines_by_table == expected.lines_by_table


@pytest.mark.parametrize("events", [1, 7, 999, 1200, 1500, 33_333])
def test_a_batch_has_exactly_the_requested_lines(events):
    generator = ShopGenerator(seed=3)
    for number in range(3):
        start = START + number * timedelta(seconds=2)
        batch = generator.batch(number, events, start, start + timedelta(seconds=2))
        assert sum(len(lines) for lines in batch.lines_by_table.values()) == events


# ---------------------------------------------------------------- well-formed events


def test_events_are_complete_unique_and_in_event_time_order_inside_their_window(clean):
    ids = set()
    for start, end, batch in clean:
        assert set(batch.lines_by_table) == set(TABLES)
        for table, lines in batch.lines_by_table.items():
            times = []
            for line in lines:
                event = json.loads(line)
                assert FIELDS[table] <= set(event), (table, event)
                assert event["event_id"] not in ids
                ids.add(event["event_id"])
                assert event["event_at"] == event[TIME_FIELD[table]]
                times.append(at(event["event_at"]))
            assert times == sorted(times), table
            assert all(start <= time < end for time in times), table


def test_landing_tables_are_the_generated_tables():
    assert set(TABLES) <= set(landing_tables())


def test_ledger_matches_the_lines(clean):
    check_ledger(clean)


def test_ledger_matches_the_lines_with_every_fault_on():
    faults = Faults(
        duplicate_rate=0.05,
        late_rate=0.05,
        out_of_order_rate=0.1,
        malformed_rate=0.02,
        schema_drift_rate=0.05,
    )
    check_ledger(run(faults=faults, batches=6))


def check_ledger(batches):
    """Every ledger figure recomputed from the lines: duplicates by event_id,
    malformed by JSON failure, amounts over distinct well-formed events."""
    seen = set()
    for _, _, batch in batches:
        for table in TABLES:
            lines = batch.lines_by_table[table]
            ledger = batch.ledger[table]
            events, duplicates, malformed = [], 0, 0
            for line in lines:
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    malformed += 1
                    continue
                if event["event_id"] in seen:
                    duplicates += 1
                    continue
                seen.add(event["event_id"])
                events.append(event)
            assert (ledger["events"], ledger["duplicates"], ledger["malformed"]) == (
                len(lines),
                duplicates,
                malformed,
            ), table
            if table == "orders":
                items = [item for event in events for item in event["lines"]]
                gross = sum(money(i["unit_price"]) * i["quantity"] for i in items)
                discount = sum(money(i["discount_amount"]) for i in items)
                assert ledger["orders"] == len(events)
                assert ledger["order_lines"] == len(items)
                assert money(ledger["gross_revenue"]) == gross
                assert money(ledger["discount_amount"]) == discount
                assert money(ledger["net_revenue"]) == gross - discount
            elif table == "returns":
                items = [item for event in events for item in event["lines"]]
                assert ledger["returns"] == len(events)
                assert ledger["return_lines"] == len(items)
                assert money(ledger["refund_amount"]) == sum(
                    money(i["refund_amount"]) for i in items
                )
            elif table == "payments":
                for status in ("authorized", "failed", "refunded"):
                    rows = [e for e in events if e["status"] == status]
                    assert ledger[status] == len(rows)
                    assert money(ledger[f"{status}_amount"]) == sum(
                        money(e["amount"]) for e in rows
                    )
            elif table == "order_status":
                counted = Counter(e["status"] for e in events)
                for status in ("paid", "shipped", "delivered", "cancelled", "returned"):
                    assert ledger[status] == counted[status]


# ---------------------------------------------------------------- fault knobs


def test_no_faults_when_every_knob_is_off(clean):
    counts = measure_faults(clean)
    faults = {key: value for key, value in counts.items() if not key.startswith("denominator")}
    assert faults == {"duplicates": 0, "malformed": 0, "drift": 0, "late": 0, "out_of_order": 0}
    assert counts["denominator_out_of_order"] > 10_000


@pytest.mark.parametrize(
    ("knob", "rate", "measured"),
    [
        ("duplicate_rate", 0.05, "duplicates"),
        ("malformed_rate", 0.02, "malformed"),
        ("schema_drift_rate", 0.03, "drift"),
        ("late_rate", 0.04, "late"),
        ("out_of_order_rate", 0.10, "out_of_order"),
    ],
)
def test_each_fault_knob_produces_what_it_says_at_about_its_rate(knob, rate, measured):
    batches = run(faults=Faults(**{knob: rate}), batches=8)
    counts = measure_faults(batches)
    found = counts.pop(measured)
    fraction = found / counts.pop("denominator_" + measured)
    assert rate * 0.6 < fraction < rate * 1.4, (knob, fraction)
    if measured == "out_of_order":  # a status held back arrives after its own time
        assert 0 < counts.pop("late") <= found
    assert not any(value for key, value in counts.items() if not key.startswith("denominator"))


def measure_faults(batches) -> dict[str, float]:
    """Count each fault from the output alone."""
    lines = malformed = drift = late = duplicates = 0
    seen: dict[str, str] = {}
    status_rows = []  # (order, status, status_at) in emission order
    late_statuses = set()
    for start, _, batch in batches:
        for table in TABLES:
            for line in batch.lines_by_table[table]:
                lines += 1
                try:
                    event = json.loads(line)
                except json.JSONDecodeError:
                    malformed += 1
                    continue
                if event["event_id"] in seen:
                    assert seen[event["event_id"]] == line  # same payload, later
                    duplicates += 1
                    continue
                seen[event["event_id"]] = line
                drift += "_drift" in event
                if at(event["event_at"]) < start:
                    late += 1
                    assert at(event[TIME_FIELD[table]]) == at(event["event_at"])
                    if table == "order_status":
                        late_statuses.add((event["order_id"], event["status"]))
                if table == "order_status":
                    status_rows.append((event["order_id"], event["status"], event["status_at"]))
    # A status emitted before the one it follows (cancelled follows paid if there was one).
    emitted: dict[str, dict[str, int]] = defaultdict(dict)
    for position, (order, status, _) in enumerate(status_rows):
        emitted[order][status] = position
    with_predecessor = out_of_order = 0
    follows = dict(STATUS_BEFORE, cancelled="paid")
    for statuses in emitted.values():
        for status, position in statuses.items():
            before = follows.get(status)
            if before in statuses:
                with_predecessor += 1
                if statuses[before] > position:
                    out_of_order += 1
    # Event times stay in lifecycle order, unless the late knob moved one back.
    times = {(o, s): at(t) for o, s, t in status_rows}
    for order, statuses in emitted.items():
        for status in statuses:
            before = follows.get(status)
            if before in statuses and not {(order, before), (order, status)} & late_statuses:
                assert times[(order, before)] < times[(order, status)]
    distinct = lines - duplicates
    return {
        "duplicates": duplicates,
        "denominator_duplicates": distinct,
        "malformed": malformed,
        "denominator_malformed": lines,
        "drift": drift,
        "denominator_drift": distinct - malformed,
        "late": late,
        "denominator_late": distinct - malformed,
        "out_of_order": out_of_order,
        "denominator_out_of_order": with_predecessor,
    }


# ---------------------------------------------------------------- a realistic shop


def test_entities_have_reach_and_change_over_time(clean):
    customers = parsed(clean, "customers")
    products = parsed(clean, "products")
    assert len({e["country_code"] for _, e in customers}) >= 10
    assert len({e["category"] for _, e in products}) >= 5
    created = {e["customer_id"] for _, e in customers if e["event_type"] == "customer_created"}
    assert len(created) >= 1000
    versions = defaultdict(list)
    for _, event in customers:
        versions[event["customer_id"]].append(event)
    changed = [
        v for v in versions.values()
        if len(v) >= 2 and any(
            (a["segment"], a["region"], a["email"]) != (b["segment"], b["region"], b["email"])
            for a, b in itertools.pairwise(v)
        )
    ]  # fmt: skip
    assert len(changed) >= 10
    assert {a["country_code"] for v in changed for a in v} == {
        v[0]["country_code"] for v in changed
    }
    prices = defaultdict(set)
    for _, event in products:
        prices[event["product_id"]].add((event["list_price"], event["unit_cost"]))
    assert sum(len(p) >= 2 for p in prices.values()) >= 10


def test_orders_reference_customers_and_products_created_before_them(clean):
    created = {}
    for table, key in (("customers", "customer_id"), ("products", "product_id")):
        for index, event in parsed(clean, table):
            created.setdefault(event[key], (index, at(event["updated_at"])))
    orders = parsed(clean, "orders")
    guests = 0
    for index, order in orders:
        references = [line["product_id"] for line in order["lines"]]
        if order["customer_id"] is None:
            guests += 1
        else:
            references.append(order["customer_id"])
        for reference in references:
            batch, time = created[reference]
            assert batch <= index and time <= at(order["ordered_at"]), (reference, order)
    assert 0.02 < guests / len(orders) < 0.08
    assert 2.5 < sum(len(o["lines"]) for _, o in orders) / len(orders) < 3.5
    assert all(o["currency"] == "USD" for _, o in orders)


def test_order_lines_are_priced_at_the_list_price_valid_when_ordered(clean):
    """What a point-in-time (SCD2) join of order lines to products must find."""
    versions = defaultdict(list)  # product -> [(valid from, list price)]
    for _, event in parsed(clean, "products"):
        versions[event["product_id"]].append((at(event["updated_at"]), event["list_price"]))
    repriced = 0
    for _, order in parsed(clean, "orders"):
        ordered = at(order["ordered_at"])
        for line in order["lines"]:
            history = versions[line["product_id"]]
            valid = [price for since, price in history if since <= ordered][-1]
            assert line["unit_price"] == valid, (order["order_id"], line)
            repriced += valid != history[0][1]
    assert repriced > 1000  # price changes do reach orders


def test_order_lifecycle_payments_returns_and_stock_line_up(clean):
    placed = {o["order_id"]: o for _, o in parsed(clean, "orders")}
    totals = {
        order_id: sum(
            money(i["unit_price"]) * i["quantity"] - money(i["discount_amount"]) for i in o["lines"]
        )
        for order_id, o in placed.items()
    }
    statuses = defaultdict(dict)
    for _, event in parsed(clean, "order_status"):
        assert event["order_id"] in placed
        statuses[event["order_id"]][event["status"]] = at(event["status_at"])
    for order_id, seen in statuses.items():
        ordered = at(placed[order_id]["ordered_at"])
        assert all(time > ordered for time in seen.values())
        assert not ({"shipped", "delivered"} & set(seen) and "cancelled" in seen)
    for _, payment in parsed(clean, "payments"):
        order_id = payment["order_id"]
        if payment["status"] in ("authorized", "failed"):
            assert money(payment["amount"]) == totals[order_id]
        assert at(payment["paid_at"]) >= at(placed[order_id]["ordered_at"])
    returns = parsed(clean, "returns")
    assert returns, "a two-day run has returns"
    refunds = {
        p["order_id"]: money(p["amount"])
        for _, p in parsed(clean, "payments")
        if p["status"] == "refunded"
    }
    for _, event in returns:
        order = placed[event["order_id"]]
        assert statuses[event["order_id"]]["delivered"] < at(event["returned_at"])
        assert event["customer_id"] == order["customer_id"]
        sold = {line["line_number"]: line for line in order["lines"]}
        for line in event["lines"]:
            original = sold[line["line_number"]]
            assert line["product_id"] == original["product_id"]
            assert 1 <= line["quantity"] <= original["quantity"]
            assert money(line["refund_amount"]) <= money(original["unit_price"]) * line["quantity"]
        assert refunds[event["order_id"]] == sum(money(i["refund_amount"]) for i in event["lines"])
    kinds = Counter(e["movement_type"] for _, e in parsed(clean, "inventory"))
    assert set(kinds) == {"restock", "sale", "return", "adjustment"}
    shipped_units = Counter()
    for order_id, seen in statuses.items():
        if "shipped" in seen:
            for line in placed[order_id]["lines"]:
                shipped_units[line["product_id"]] += line["quantity"]
    sold_units = Counter()
    for _, event in parsed(clean, "inventory"):
        if event["movement_type"] == "sale":
            assert event["quantity_delta"] < 0
            sold_units[event["product_id"]] -= event["quantity_delta"]
    assert sold_units == shipped_units


def test_web_sessions_form_a_funnel_whose_purchases_are_the_orders(clean):
    web = [e for _, e in parsed(clean, "web_events")]
    kinds = Counter(e["event_type"] for e in web)
    assert kinds["page_view"] > kinds["add_to_cart"] > kinds["checkout"] > kinds["purchase"] > 0
    orders = {o["order_id"]: o for _, o in parsed(clean, "orders")}
    purchases = [e for e in web if e["event_type"] == "purchase"]
    assert len({p["order_id"] for p in purchases}) == len(purchases)
    for purchase in purchases:
        order = orders[purchase["order_id"]]
        assert purchase["occurred_at"] == order["ordered_at"]
        assert purchase["customer_id"] == order["customer_id"]
        assert order["channel"] in ("web", "mobile")
    web_orders = [o for o in orders.values() if o["channel"] != "marketplace"]
    assert len(purchases) == len(web_orders)
    assert all(e["product_id"] is None for e in web if e["event_type"] == "checkout")


def test_popularity_and_repeat_customers_are_skewed(clean):
    orders = [o for _, o in parsed(clean, "orders")]
    products = Counter(line["product_id"] for o in orders for line in o["lines"])
    ranked = sorted(products.values(), reverse=True)
    assert sum(ranked[:10]) / sum(ranked) > 0.25  # 10 of 200 would carry 5% if uniform
    buyers = Counter(o["customer_id"] for o in orders if o["customer_id"])
    ranked = sorted(buyers.values(), reverse=True)
    assert sum(ranked[: len(ranked) // 10]) / sum(ranked) > 0.25
    assert ranked[0] > 20


def test_daily_and_weekly_rhythm_promotions_and_regional_growth():
    """One batch over 8 weeks: event times inside it follow the shop's rhythm."""
    generator = ShopGenerator(seed=5)
    end = START + timedelta(days=56)
    orders = [
        json.loads(line)
        for line in generator.batch(0, 400_000, START, end).lines_by_table["orders"]
    ]
    by_hour = Counter(at(o["ordered_at"]).hour for o in orders)
    assert by_hour[12] > 3 * by_hour[3] and by_hour[20] > 3 * by_hour[3]
    weekday = Counter(at(o["ordered_at"]).weekday() >= 5 for o in orders)
    assert weekday[True] / 2 > 1.1 * weekday[False] / 5
    # Promotions: some hours discount far more lines than usual.
    discounted = defaultdict(lambda: [0, 0])
    for order in orders:
        hour = at(order["ordered_at"]).replace(minute=0, second=0, microsecond=0)
        for line in order["lines"]:
            discounted[hour][0] += line["discount_amount"] > 0
            discounted[hour][1] += 1
    shares = sorted(d / n for d, n in discounted.values() if n >= 20)
    assert shares[len(shares) // 2] < 0.2 and shares[-1] > 0.45

    # Regional growth: India's share grows, Japan's shrinks.
    def share(country, orders):
        return sum(o["ship_country"] == country for o in orders) / len(orders)

    first = [o for o in orders if at(o["ordered_at"]) < START + timedelta(days=7)]
    last = [o for o in orders if at(o["ordered_at"]) >= end - timedelta(days=7)]
    assert share("IN", last) > 1.5 * share("IN", first)
    assert share("JP", last) < share("JP", first)
    assert 0.04 < len(orders) / 400_000 < 0.08


def test_after_a_pause_the_shop_resumes_on_the_wall_clock_and_loses_nothing():
    """A window that starts hours after the last one ended (the producer was down):
    events land in the new window, daily peaks stay at wall-clock hours, and the
    orders from before the pause still move through their lifecycle."""
    generator = ShopGenerator(seed=9)
    day = timedelta(days=1)
    before = generator.batch(0, 150_000, START, START + day)
    resume = START + day + timedelta(hours=7)
    after = generator.batch(1, 150_000, resume, resume + day)
    placed_before = {json.loads(line)["order_id"] for line in before.lines_by_table["orders"]}
    shipped_after = set()
    for table, lines in after.lines_by_table.items():
        for line in lines:
            event = json.loads(line)
            assert resume <= at(event["event_at"]) < resume + day, table
            if table == "order_status" and event["status"] == "delivered":
                shipped_after.add(event["order_id"])
    assert len(shipped_after & placed_before) > 1000
    by_hour = Counter(
        at(json.loads(line)["ordered_at"]).hour for line in after.lines_by_table["orders"]
    )
    assert by_hour[20] > 2.5 * by_hour[3] and by_hour[12] > 2.5 * by_hour[3]


# ---------------------------------------------------------------- state


def test_make_leaves_its_state_as_it_was_and_numbers_orders_from_the_state():
    """The pure form: the same state gives the same batch twice; a fresh state
    can number its first order (a home from the orders-only producer)."""
    generator = ShopGenerator(seed=1)
    state = generator.fresh_state(next_order=100)
    before = state.to_dict()
    end = START + timedelta(minutes=10)
    batch, after = generator.make(state, 0, 6000, START, end)
    assert state.to_dict() == before
    assert generator.make(state, 0, 6000, START, end)[0] == batch
    events = [json.loads(line) for line in batch.lines_by_table["orders"]]
    assert len(events) > 100
    assert [e["order_id"] for e in events] == [f"O{n:010d}" for n in range(100, 100 + len(events))]
    assert after.next_order == 100 + len(events)
    lines = [line for e in events for line in e["lines"]]
    ledger = batch.ledger["orders"]
    assert (ledger["orders"], ledger["order_lines"]) == (len(events), len(lines))
    net = sum(money(i["unit_price"]) * i["quantity"] - money(i["discount_amount"]) for i in lines)
    assert money(ledger["net_revenue"]) == net
