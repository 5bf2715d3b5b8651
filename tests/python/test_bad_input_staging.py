"""Bad input never stops the pipeline (issue 21, classes 1-3, the staging layer):
every event a producer can send ends in a row of stg_* or of qrn_* with a
reason, never in a failed drain or `dbt build`; one copy of each event wins,
everywhere; nothing is changed silently on the way in.

Each class of input is hand-written NDJSON staged the way a producer elsewhere
would; all classes share one home (two drains, then `dbt build`). Each test
checks where every staged line of its class went (valid, quarantined with which
reason, or a plain duplicate) and that good events reached the facts."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import duckdb
import pytest
import snowflake.connector
import sqlglot
from conftest import customer_event, dbt, product_event, run, simulate, stamp

from snowcart.engines.snowflake.connection import SnowflakeConfig
from snowcart.stages.local import LocalStage

NOW = datetime.now(UTC).replace(tzinfo=None, microsecond=0)
AT = NOW - timedelta(hours=3)
VALID, DUPLICATE = "valid", "duplicate"
# The base model of each landing table (stg_/qrn_ views share its name).
ENTITY = {
    "orders": "orders",
    "order_status": "order_status_changes",
    "payments": "payments",
    "inventory": "inventory_movements",
    "customers": "customers",
    "products": "products",
    "web_events": "web_events",
    "returns": "return_lines",
}


# ---------------------------------------------------------------- events


def line(number, product="P1", quantity=1, price=10.0, discount=0.0) -> dict:
    return {"line_number": number, "product_id": product, "quantity": quantity,
            "unit_price": price, "discount_amount": discount}  # fmt: skip


def order(event_id, order_id, lines, at=AT, **fields) -> str:
    return json.dumps({
        "event_id": event_id, "event_type": "order_placed", "event_at": stamp(at),
        "order_id": order_id, "customer_id": "C1", "channel": "web", "currency": "USD",
        "ship_country": "DE", "ordered_at": stamp(at), "lines": lines, **fields,
    })  # fmt: skip


def payment(event_id, payment_id, order_id, amount=10.0, **fields) -> str:
    return json.dumps({
        "event_id": event_id, "event_type": "payment_authorized", "event_at": stamp(AT),
        "payment_id": payment_id, "order_id": order_id, "method": "card", "amount": amount,
        "status": "authorized", "paid_at": stamp(AT), **fields,
    })  # fmt: skip


def movement(event_id, movement_id, delta=5, **fields) -> str:
    return json.dumps({
        "event_id": event_id, "event_type": "inventory_movement", "event_at": stamp(AT),
        "movement_id": movement_id, "product_id": "P1", "movement_type": "restock",
        "quantity_delta": delta, "moved_at": stamp(AT), **fields,
    })  # fmt: skip


def refund(event_id, return_id, order_id, lines, **fields) -> str:
    return json.dumps({
        "event_id": event_id, "event_type": "order_returned", "event_at": stamp(AT),
        "return_id": return_id, "order_id": order_id, "customer_id": "C1",
        "ship_country": "DE", "returned_at": stamp(AT), "lines": lines, **fields,
    })  # fmt: skip


def return_line(number, product="P1", quantity=1, price=10.0, refund_amount=10.0) -> dict:
    return {"line_number": number, "product_id": product, "quantity": quantity,
            "unit_price": price, "refund_amount": refund_amount}  # fmt: skip


def status(event_id, order_id, value="paid", **fields) -> str:
    return json.dumps({
        "event_id": event_id, "event_type": "order_status_changed", "event_at": stamp(AT),
        "order_id": order_id, "status": value, "status_at": stamp(AT), **fields,
    })  # fmt: skip


def web_event(event_id, kind="page_view", **fields) -> str:
    return json.dumps({
        "event_id": event_id, "event_type": kind, "event_at": stamp(AT), "session_id": "S1",
        "customer_id": "C1", "product_id": "P1", "order_id": None, "occurred_at": stamp(AT),
        **fields,
    })  # fmt: skip


def reference_events(batch: int) -> dict[str, list[tuple[str, object]]]:
    """A customer and the products the orders sell, so every dimension exists."""
    first = AT - timedelta(days=1)
    return {
        "customers": [(customer_event(f"E-C1-{batch}", "C1", "consumer", first), VALID)],
        "products": [
            (product_event(f"E-{p}-{batch}", p, 4.0, first), VALID) for p in ("P1", "P2", "P3")
        ],
    }


# ---------------------------------------------------------------- the pipeline
# One home holds every class below: each class stages its own files with its
# own ids (its first load as batch N, its later load as batch N + LATER), so two
# drains and one `dbt build` check them all, and nothing one class sends can
# hide what another's does.

POISON, DUPLICATES, SILENT, MAXIMAL = 1, 2, 3, 4
LATER = 10
Cases = dict[str, list[tuple[str, object]]]


def stage_and_drain(home: Path, batches: dict[int, Cases]) -> None:
    """Stage one file per batch and table (line n of the file = case n) and drain."""
    stage = LocalStage(home / "stage")
    for batch, cases in batches.items():
        for table, table_cases in cases.items():
            stage.write(table, batch, [text for text, _ in table_cases])
    result = simulate("--events", "0", "--home", str(home))
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]


def query(home: Path, sql: str, params: dict | None = None) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql, params or {}).fetchall()


def file_of(table: str, batch: int) -> str:
    return f"{table}/{LocalStage.batch_file_name(batch)}"


def outcomes(home: Path, table: str, batch: int) -> dict[int, list[str]]:
    """Where each line of a staged file went: per file row, 'valid', the
    quarantine reason of every row it became (one per order or return line for
    the line models), or 'rejected: <reason>' when the pipe could not land it
    (ops.load_errors); a row in none of them is missing from the dict."""
    entity = ENTITY[table]
    rows = query(
        home,
        f"""
        select _file_row_number, 'valid' from staging.stg_shop__{entity}
        where _file_name = $file
        union all
        select _file_row_number, invalid_reason from quarantine.qrn_shop__{entity}
        where _file_name = $file
        union all
        select line_number, 'rejected: ' || reason from ops.load_errors
        where file_name = $file
        """,
        {"file": file_of(table, batch)},
    )
    found: dict[int, list[str]] = {}
    for row, where in rows:
        found.setdefault(row, []).append(where)
    return found


def assert_accounted_for(home: Path, batch: int, cases: Cases):
    """Every staged line is in exactly one of stg_/qrn_/ops.load_errors with the
    expected reason (or in none, for a plain duplicate). An expectation is
    'valid', a reason, 'rejected: <reason>' or 'duplicate'; for returns a list,
    one per returned line (an order's header is checked here, its lines by
    assert_order_lines)."""
    problems = []
    for table, table_cases in cases.items():
        found = outcomes(home, table, batch)
        for row, (text, expected) in enumerate(table_cases, start=1):
            if expected == DUPLICATE:
                wanted = []
            elif isinstance(expected, list):
                wanted = sorted(expected)
            else:
                wanted = [expected]
            got = sorted(found.get(row, []))
            if got != wanted:
                problems.append(f"{table} batch {batch} line {row}: {got} != {wanted}: {text}")
    assert not problems, "\n".join(problems)


def line_outcomes(home: Path, batch: int) -> dict[int, list[str]]:
    rows = query(
        home,
        """
        select _file_row_number, line_position, 'valid' from staging.stg_shop__order_lines
        where _file_name = $file
        union all
        select _file_row_number, line_position, invalid_reason
        from quarantine.qrn_shop__order_lines
        where _file_name = $file
        order by 1, 2
        """,
        {"file": file_of("orders", batch)},
    )
    found: dict[int, list[str]] = {}
    for row, _, where in rows:
        found.setdefault(row, []).append(where)
    return found


def assert_order_lines(home: Path, batch: int, expected: dict[int, list[str]]) -> None:
    got = line_outcomes(home, batch)
    problems = [
        f"orders batch {batch} line {row}: lines {got.get(row, [])} != {wanted}"
        for row, wanted in expected.items()
        if got.get(row, []) != wanted
    ]
    assert not problems, "\n".join(problems)


def sales(home: Path, cases: list[Cases]) -> dict[str, Decimal]:
    """Booked revenue per order, for the orders these cases sent."""
    sent = {
        json.loads(text)["order_id"]
        for batch in cases
        for text, expected in batch.get("orders", [])
        if not str(expected).startswith("rejected")
    }
    booked = query(
        home, "select order_id, sum(booked_revenue) from analytics.fct_sales group by order_id"
    )
    return {order_id: amount for order_id, amount in booked if order_id in sent}


# ---------------------------------------------------------------- class 1: poison rows

CHANNELS = ["pos", "🛒", "\u0000", "web'; drop table raw.orders; --", "WEB"]


def poison_cases() -> tuple[Cases, Cases]:
    big = [line(1, quantity=2147483647, price=99999999999999)]
    orders = [
        (order("E-GOOD-1", "O-GOOD-1", [line(1, "P1", 2, 30.0), line(2, "P2", 1, 120.0)]), VALID),
        *(
            (order(f"E-CH-{n}", f"O-CH-{n}", [line(1)], channel=channel), "unknown_channel")
            for n, channel in enumerate(CHANNELS)
        ),
        (order("E-BIG-1", "O-BIG-1", big), VALID),
        (order("E-BIG-2", "O-BIG-2", [line(1, price=99999999999999)]), VALID),
        (order("E-BIG-3", "O-BIG-3", [line(1, quantity=99999999999999999999)]), VALID),
        (order("E-DUP-1", "O-DUP", [line(1, quantity=1)]), VALID),
        (order("E-DUP-2", "O-DUP", [line(1, quantity=7)]), "duplicate_order_id"),
        (order("E-LN-1", "O-LN-1", [line(1), line(1, "P2"), line(0, "P3")]), VALID),
        (order("E-TYPE", "O-TYPE", [line(1)], event_type="order_placed; select 1"),
         "unknown_event_type"),
        (order("E-BLANK", "  ", [line(1)]), "missing_order_id"),
        # Lines the pipe cannot land at all: rejected with the reason, never staged.
        ('{"event_id": "E-CUT", "order_id": "O-CUT", "lines": [', "rejected: malformed JSON"),
        ('["E-ARRAY", "order_placed"]', "rejected: not a JSON object"),
        ('{"event_type": "order_placed", "order_id": "O-NOID"}',
         "rejected: missing required field event_id"),
    ]  # fmt: skip
    payments = [
        (payment("E-PM-1", "PM-1", "O-GOOD-1"), VALID),
        (payment("E-PM-2", "PM-2", "O-GOOD-1", method="crypto"), "unknown_payment_method"),
        (payment("E-PM-3", "PM-3", "O-GOOD-1", status="pending"), "unknown_payment_status"),
        (payment("E-PM-4", "PM-4", "O-GOOD-1", event_type="payment_failed"),
         "inconsistent_payment_status"),
        (payment("E-PM-5", "PM-1", "O-GOOD-1", amount=3.0), "duplicate_payment_id"),
        (payment("E-PM-6", "PM-6", "O-GOOD-1", amount=10**15), "amount_out_of_range"),
        (payment("E-PM-7", "PM-7", "O-GOOD-1", status=None), "unknown_payment_status"),
    ]  # fmt: skip
    inventory = [
        (movement("E-MV-1", "MV-1"), VALID),
        (movement("E-MV-2", "MV-1", delta=3), "duplicate_movement_id"),
        (movement("E-MV-3", "MV-3", delta=2147483648), "quantity_delta_out_of_range"),
        (movement("E-MV-4", "MV-4", movement_type="theft"), "unknown_movement_type"),
    ]
    returns = [
        (refund("E-RT-1", "R-1", "O-GOOD-1", [return_line(1, "P1", 1, 30.0, 30.0)]), [VALID]),
        (refund("E-RT-2", "R-1", "O-GOOD-1", [return_line(1, "P2", 1, 120.0, 120.0)]),
         ["duplicate_return_id"]),
        (refund("E-RT-3", "R-3", "O-GOOD-1", []), ["no_lines"]),
        (refund("E-RT-4", "R-4", None, [return_line(1, price=None, refund_amount=None)]),
         ["missing_refund_amount"]),
        (refund("E-RT-5", "R-5", None, [return_line(1, quantity=5_000_000)]),
         ["quantity_out_of_range"]),
        (refund("E-RT-6", "R-6", None, [return_line(1), return_line(1, "P2")]),
         [VALID, "duplicate_line_number"]),
        (refund("E-RT-7", "R-7", None, [return_line(1, price=-5.0, refund_amount=None)]),
         ["invalid_unit_price"]),
    ]  # fmt: skip
    reference = reference_events(1)
    reference["products"].append(
        (product_event("E-P9-1", "P9", 99999999999999, AT), "price_or_cost_out_of_range")
    )
    first = {
        "orders": orders,
        "payments": payments,
        "inventory": inventory,
        "returns": returns,
        "order_status": [
            (status("E-ST-1", "O-GOOD-1"), VALID),
            (status("E-ST-2", "O-GOOD-1", "lost"), "unknown_order_status"),
        ],
        "web_events": [(web_event("E-WE-1"), VALID), (web_event("E-WE-2", "hover"),
                                                      "unknown_event_type")],
        **reference,
    }  # fmt: skip
    # A later load: good events flow, and the natural keys stay claimed.
    later = {
        "orders": [
            (order("E-GOOD-2", "O-GOOD-2", [line(1, "P3", 3, 5.0)]), VALID),
            (order("E-DUP-3", "O-DUP", [line(1, quantity=9)]), "duplicate_order_id"),
        ],
        "payments": [(payment("E-PM-8", "PM-1", "O-GOOD-2"), "duplicate_payment_id")],
        "inventory": [(movement("E-MV-5", "MV-1"), "duplicate_movement_id")],
        "returns": [
            (refund("E-RT-8", "R-1", "O-GOOD-1", [return_line(1, "P1", 1, 30.0, 30.0)]),
             ["duplicate_return_id"]),
        ],
    }  # fmt: skip
    return first, later


# ---------------------------------------------------------------- class 2: duplicates

A_LINES = [line(1, "P1", 2, 30.0), line(2, "P2", 1, 120.0)]  # 180
B_LINES = [line(1, "P1", 3, 30.0), line(2, "P2", 1, 120.0), line(3, "P3", 1, 10.0)]  # 220


def duplicate_cases() -> tuple[Cases, Cases]:
    first = {
        "orders": [
            (order("E-C1", "O-C1", A_LINES), VALID),
            (order("E-C1", "O-C1", B_LINES), "conflicting_duplicate"),
            (order("E-C1", "O-C1", A_LINES), DUPLICATE),
            (order("", "O-E1", [line(1)]), "missing_event_id"),
            (order("", "O-E2", [line(1)]), "missing_event_id"),
            (order("   ", "O-E3", [line(1)]), "missing_event_id"),
            (order("E-C2", "O-C2", A_LINES), VALID),
        ],
        "payments": [
            (payment("E-P1", "PM-C1", "O-C1", amount=180.0), VALID),
            (payment("E-P1", "PM-C1", "O-C1", amount=999.0), "conflicting_duplicate"),
            (payment("", "PM-C2", "O-C1"), "missing_event_id"),
        ],
        "customers": [
            (customer_event("E-CD-1", "CD", "consumer", AT - timedelta(days=1)), VALID),
            (customer_event("E-CD-1", "CD", "vip", AT - timedelta(days=1)),
             "conflicting_duplicate"),
        ],
    }  # fmt: skip
    # A later load: a conflicting copy of an event staged earlier never replaces
    # it (nor adds its lines); an identical one is a plain duplicate.
    later = {
        "orders": [
            (order("E-C2", "O-C2", B_LINES), "conflicting_duplicate"),
            (order("E-C2", "O-C2", A_LINES), DUPLICATE),
            (order("E-C3", "O-C3", [line(1, "P3", 3, 5.0)]), VALID),
        ],
        "payments": [(payment("E-P1", "PM-C1", "O-C1", amount=1.0), "conflicting_duplicate")],
        "customers": [
            (customer_event("E-CD-1", "CD", "corporate", AT - timedelta(days=1)),
             "conflicting_duplicate"),
        ],
    }  # fmt: skip
    return first, later


# ---------------------------------------------------------------- class 3: silent changes

LOCAL = (NOW - timedelta(days=2)).replace(hour=10, minute=0, second=0)


def local(offset: str) -> str:
    return LOCAL.strftime("%Y-%m-%dT%H:%M:%S") + offset


def silent_change_cases() -> tuple[Cases, Cases]:
    orders = [
        (order("E-TZ-1", "O-TZ-1", [line(1)], ordered_at=local("+05:00")), VALID),
        (order("E-TZ-2", "O-TZ-2", [line(1)], ordered_at=local("-08:00")), VALID),
        (order("E-TZ-3", "O-TZ-3", [line(1)], ordered_at=local("Z")), VALID),
        (order("E-TZ-4", "O-TZ-4", [line(1)], ordered_at=local("+0530")), VALID),
        (order("E-TZ-5", "O-TZ-5", [line(1)], ordered_at=local(".250-02:30")), VALID),
        (order("E-Q-1", "O-Q-1", [line(1, quantity=3.7)]), VALID),
        (order("E-Q-2", "O-Q-2", [line(1, quantity="0x10")]), VALID),
        (order("E-Q-3", "O-Q-3", [line(1, quantity=3.0)]), VALID),
        (order("E-Q-4", "O-Q-4", [line(1, quantity="four")]), VALID),
        (order("E-Q-5", "O-Q-5", [line(1, quantity=True)]), VALID),
        (order("E-PR-1", "O-PR-1", [line(1, price=19.99999)]), VALID),
        (order("E-PR-2", "O-PR-2", [line(1, price="12,50")]), VALID),
        (order("E-PR-3", "O-PR-3", [line(1, price="1e2")]), VALID),
        (order("E-T-1", "O-T-1", [line(1)], ordered_at="yesterday"), "unparseable_ordered_at"),
        (order("E-T-2", "O-T-2", [line(1)], ordered_at=f"{NOW.year}-02-30T10:00:00"),
         "unparseable_ordered_at"),
        (order("E-T-3", "O-T-3", [line(1)], ordered_at=1767261600), "unparseable_ordered_at"),
        (order("E-T-4", "O-T-4", [line(1)], ordered_at=local("+99:00")), "unparseable_ordered_at"),
        (order("E-T-5", "O-T-5", [line(1)], event_at="soon"), "unparseable_event_at"),
    ]  # fmt: skip
    first = {
        "orders": orders,
        "payments": [
            (payment("E-TPM-1", "TPM-1", "O-TZ-1", paid_at=local("+05:00")), VALID),
            (payment("E-TPM-2", "TPM-2", "O-TZ-1", amount="12.5.0"), "invalid_amount"),
            (payment("E-TPM-3", "TPM-3", "O-TZ-1", amount=0.123456), "invalid_amount"),
        ],
        "inventory": [
            (movement("E-TMV-1", "TMV-1", delta=2.5), "invalid_quantity_delta"),
            (movement("E-TMV-2", "TMV-2", moved_at=local("-08:00")), VALID),
        ],
        "order_status": [
            (status("E-TST-1", "O-TZ-1", status_at=local("-08:00")), VALID),
            (status("E-TST-2", "O-TZ-1", status_at="2026-13-01T00:00:00"),
             "unparseable_status_at"),
        ],
        "customers": [
            (customer_event("E-CT-1", "CT", "consumer", AT - timedelta(days=1)), VALID),
            (json.dumps({**json.loads(customer_event("E-CU-1", "CU", "vip", AT)),
                         "updated_at": "not a time"}), "unparseable_updated_at"),
        ],
    }  # fmt: skip
    later = {"orders": [(order("E-GOOD", "O-GOOD", [line(1, "P2", 2, 7.5)]), VALID)]}
    return first, later


# ---------------------------------------------------------------- class 4: the largest values

MAX_QUANTITY, MAX_UNIT_PRICE = 1_000_000, 10_000_000  # the staging bounds (docs/warehouse.md)
MAXIMAL_DAY = (NOW - timedelta(days=5)).replace(hour=12, minute=0, second=0)
MAXIMAL_ORDERS = 12


def maximal_cases() -> tuple[Cases, Cases]:
    """A dozen orders, payments and refunds at the largest values staging lets
    through: each fits a row, and their sums must fit every mart."""
    biggest = [line(1, "P1", MAX_QUANTITY, MAX_UNIT_PRICE)]
    amount = MAX_QUANTITY * MAX_UNIT_PRICE
    numbers = range(1, MAXIMAL_ORDERS + 1)
    first = {
        "orders": [
            (order(f"E-MAX-{n}", f"O-MAX-{n}", biggest, at=MAXIMAL_DAY), VALID) for n in numbers
        ],
        "payments": [
            (
                payment(
                    f"E-MPM-{n}",
                    f"MPM-{n}",
                    f"O-MAX-{n}",
                    amount=amount,
                    paid_at=stamp(MAXIMAL_DAY),
                ),
                VALID,
            )
            for n in numbers
        ],
        "returns": [
            (
                refund(
                    f"E-MRT-{n}",
                    f"MRT-{n}",
                    "O-MAX-1",
                    [return_line(1, "P1", MAX_QUANTITY, MAX_UNIT_PRICE, amount)],
                ),
                [VALID],
            )
            for n in numbers
        ],
    }
    return first, {}


CORPUS = {
    POISON: poison_cases(),
    DUPLICATES: duplicate_cases(),
    SILENT: silent_change_cases(),
    MAXIMAL: maximal_cases(),
}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    """Every class's first load in one drain, their later loads in the next, then
    `dbt build` with every test: each must pass."""
    home = tmp_path_factory.mktemp("corpus")
    stage_and_drain(home, {batch: first for batch, (first, _) in CORPUS.items()})
    stage_and_drain(home, {batch + LATER: later for batch, (_, later) in CORPUS.items() if later})
    result = dbt("build", home=home)
    assert result.returncode == 0, result.stdout[-4000:]
    return home


def test_poison_rows_are_quarantined_and_later_events_still_flow(corpus):
    """Values a data test or a cast would choke on (an unknown enum value, an
    amount whose product overflows, a second event for the same natural key)
    are quarantined with a reason; the drain, the next load and `dbt build` pass."""
    first, later = CORPUS[POISON]
    assert_accounted_for(corpus, POISON, first)
    assert_order_lines(corpus, POISON, {
        1: [VALID, VALID],
        2: ["unknown_channel"],
        7: ["quantity_out_of_range"],
        8: ["unit_price_out_of_range"],
        9: ["quantity_out_of_range"],
        10: [VALID],
        11: ["duplicate_order_id"],
        12: [VALID, "duplicate_line_number", "invalid_line_number"],
    })  # fmt: skip
    channels = query(
        corpus,
        "select invalid_value from quarantine.qrn_shop__orders"
        " where invalid_reason = 'unknown_channel' and _file_name = $file"
        " order by _file_row_number",
        {"file": file_of("orders", POISON)},
    )
    assert [value for (value,) in channels] == CHANNELS
    assert_accounted_for(corpus, POISON + LATER, later)
    assert sales(corpus, [first, later]) == {
        "O-GOOD-1": Decimal("180"),
        "O-DUP": Decimal("10"),
        "O-LN-1": Decimal("10"),
        "O-GOOD-2": Decimal("15"),
    }


def test_first_copy_of_an_event_wins_everywhere_and_conflicting_copies_are_quarantined(corpus):
    """The same event_id with another payload: the copy loaded first is the one
    every model reads (header and lines alike), the other is quarantined as a
    conflicting duplicate, in the same load or a later one; an identical copy
    is a plain duplicate; an empty event_id is invalid, never a duplicate of
    another empty one."""
    first, later = CORPUS[DUPLICATES]
    assert_accounted_for(corpus, DUPLICATES, first)
    assert_order_lines(corpus, DUPLICATES, {
        1: [VALID, VALID],
        2: ["conflicting_duplicate"] * 3,
        3: [],
        4: ["missing_event_id"],
        5: ["missing_event_id"],
        6: ["missing_event_id"],
        7: [VALID, VALID],
    })  # fmt: skip
    assert_accounted_for(corpus, DUPLICATES + LATER, later)
    assert_order_lines(corpus, DUPLICATES + LATER, {1: ["conflicting_duplicate"] * 3, 2: [],
                                                    3: [VALID]})  # fmt: skip
    assert sales(corpus, [first, later]) == {
        "O-C1": Decimal("180"),
        "O-C2": Decimal("180"),
        "O-C3": Decimal("15"),
    }
    assert query(
        corpus, "select amount from analytics.fct_payments where payment_id = 'PM-C1'"
    ) == [(Decimal("180"),)]
    assert query(
        corpus, "select customer_segment from analytics.dim_customers where customer_id = 'CD'"
    ) == [("consumer",)]


def test_offsets_become_utc_and_what_cannot_be_cast_exactly_is_quarantined_with_its_value(
    corpus,
):
    """A time with an offset is converted to UTC; a number that is not exactly
    the type (3.7 as a quantity, "0x10", a price with more decimals than money
    keeps) and a time that does not parse are quarantined, the value as sent in
    invalid_value."""
    first, later = CORPUS[SILENT]
    assert_accounted_for(corpus, SILENT, first)
    assert_order_lines(corpus, SILENT, {
        1: [VALID], 2: [VALID], 3: [VALID], 4: [VALID], 5: [VALID],
        6: ["invalid_quantity"], 7: ["invalid_quantity"], 8: [VALID],
        9: ["invalid_quantity"], 10: ["invalid_quantity"],
        11: ["invalid_unit_price"], 12: ["invalid_unit_price"], 13: ["invalid_unit_price"],
        14: ["unparseable_ordered_at"], 15: ["unparseable_ordered_at"],
        16: ["unparseable_ordered_at"], 17: ["unparseable_ordered_at"],
        18: ["unparseable_event_at"],
    })  # fmt: skip

    # Offsets converted to UTC, in staging and in the facts.
    utc = {
        "O-TZ-1": LOCAL - timedelta(hours=5),
        "O-TZ-2": LOCAL + timedelta(hours=8),
        "O-TZ-3": LOCAL,
        "O-TZ-4": LOCAL - timedelta(hours=5, minutes=30),
        "O-TZ-5": LOCAL + timedelta(hours=2, minutes=30, milliseconds=250),
    }
    for model in ("staging.stg_shop__orders", "analytics.fct_sales"):
        got = dict(query(corpus, f"select order_id, ordered_at from {model}"
                         " where order_id like 'O-TZ-%'"))  # fmt: skip
        assert got == utc, model
    assert query(
        corpus, "select paid_at from staging.stg_shop__payments where payment_id = 'TPM-1'"
    ) == [(LOCAL - timedelta(hours=5),)]
    assert query(
        corpus,
        "select status_at from staging.stg_shop__order_status_changes where event_id = 'E-TST-1'",
    ) == [(LOCAL + timedelta(hours=8),)]
    assert query(
        corpus,
        "select moved_at from staging.stg_shop__inventory_movements where movement_id = 'TMV-2'",
    ) == [(LOCAL + timedelta(hours=8),)]
    # Whole numbers written with a zero fraction are exact: 3.0 is 3.
    assert query(corpus, "select quantity from staging.stg_shop__order_lines"
                 " where order_id = 'O-Q-3'") == [(3,)]  # fmt: skip

    # What could not be cast exactly is quarantined with the value as sent.
    sent = dict(
        query(
            corpus,
            """
            select order_id, invalid_value from quarantine.qrn_shop__order_lines
            union all
            select order_id, invalid_value from quarantine.qrn_shop__orders
            """,
        )
    )
    assert {key: sent.get(key) for key in ("O-Q-1", "O-Q-2", "O-Q-4", "O-Q-5")} == {
        "O-Q-1": "3.7", "O-Q-2": "0x10", "O-Q-4": "four", "O-Q-5": "true",
    }  # fmt: skip
    assert {key: sent.get(key) for key in ("O-PR-1", "O-PR-2", "O-T-1", "O-T-3", "O-T-5")} == {
        "O-PR-1": "19.99999", "O-PR-2": "12,50", "O-T-1": "yesterday", "O-T-3": "1767261600",
        "O-T-5": "soon",
    }  # fmt: skip
    assert query(
        corpus,
        "select invalid_value from quarantine.qrn_shop__inventory_movements"
        " where movement_id = 'TMV-1'",
    ) == [("2.5",)]

    # A later load flows through.
    assert_accounted_for(corpus, SILENT + LATER, later)
    assert sales(corpus, [later])["O-GOOD"] == Decimal("15")


def test_sums_of_the_largest_values_staging_lets_through_fit_every_mart(corpus):
    """Money is wide enough for sums: a dozen maximal lines, payments and
    refunds build every mart (the corpus fixture's drains and `dbt build`), and
    the day's figures are the plain products and sums of what was sent."""
    first, _ = CORPUS[MAXIMAL]
    assert_accounted_for(corpus, MAXIMAL, first)
    amount = Decimal(MAX_QUANTITY * MAX_UNIT_PRICE)
    day = MAXIMAL_DAY.date()
    [(orders, booked, refunds, net)] = query(
        corpus,
        "select order_count, booked_revenue, refund_amount, net_revenue"
        " from analytics.rpt_daily_sales where order_date = $day",
        {"day": day},
    )
    assert (orders, booked) == (MAXIMAL_ORDERS, MAXIMAL_ORDERS * amount)
    # Every refund reduces the first line of O-MAX-1 that sold P1, on its date.
    assert refunds == MAXIMAL_ORDERS * amount and net == booked - refunds
    [(authorized,)] = query(
        corpus,
        "select authorized_amount from analytics.rpt_payments where payment_date = $day",
        {"day": day},
    )
    assert authorized == MAXIMAL_ORDERS * amount


def test_reconcile_agrees_with_the_pipe_and_the_marts_are_published_after_the_corpus(corpus):
    """Nothing any class sent stopped the drains: reconcile (no ledger: these files
    come from a producer elsewhere) finds every staged line landed or rejected, and
    the serving layer holds the marts as built."""
    reconciled = run([sys.executable, "scripts/reconcile.py"], home=corpus)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "no ledger" in reconciled.stdout
    assert "MISMATCH" not in reconciled.stdout + reconciled.stderr
    staged = sum(
        len(cases[table])
        for first, later in CORPUS.values()
        for cases in (first, later)
        for table in cases
    )
    [(landed, rejected)] = query(
        corpus,
        "select (select sum(line_count) from ops.load_history),"
        " (select count(*) from ops.load_errors)",
    )
    assert (landed, rejected) == (staged, 3)
    sql = "select order_date, net_revenue from analytics.rpt_daily_sales order by 1"
    with duckdb.connect(str(corpus / "serving.duckdb"), read_only=True) as con:
        served = con.execute(sql).fetchall()
    assert served == query(corpus, sql) and served


# ---------------------------------------------------------------- the Snowflake SQL


def test_snowflake_sql_applies_the_same_rules_first_and_incremental_runs(tmp_path, fakesnow_port):
    """The same rules through dbt-snowflake against fakesnow: a first build, then
    the incremental SQL (compiled once the tables exist; with var pr_schema it
    reads the landing table, not a stream fakesnow lacks), parsed as Snowflake
    SQL and run, so a copy staged earlier beats a later one."""
    env = {"FAKESNOW_PORT": str(fakesnow_port)}
    common = ("--target", "fakesnow", "--vars", "{pr_schema: t21}")
    created = dbt("run-operation", "create_landing_tables", *common[:2], home=tmp_path, **env)
    assert created.returncode == 0, created.stdout[-3000:]
    config = SnowflakeConfig.for_fakesnow(fakesnow_port)
    a_lines = [line(1, "P1", 2, 30.0), line(2, "P2", 1, 120.0)]
    first = [
        order("E-C1", "O-C1", a_lines),
        order("E-TZ", "O-TZ", [line(1)], ordered_at=local("+05:00")),
        order("E-Q", "O-Q", [line(1, quantity=3.7)]),
        order("E-CH", "O-CH", [line(1)], channel="pos"),
        order("", "O-E", [line(1)]),
        order("E-DUP-2", "O-C1", [line(1)]),
        order("E-BIG", "O-BIG", [line(1, quantity=2147483647, price=99999999999999)]),
    ]
    later = [
        order("E-C1", "O-C1", [*a_lines, line(3, "P3", 1, 10.0)]),
        order("E-C1", "O-C1", a_lines),
        order("E-DUP-3", "O-C1", [line(1)]),
        order("E-C3", "O-C3", [line(1)]),
    ]

    def land(events: list[str], file_name: str) -> None:
        with snowflake.connector.connect(**config.connect_args("raw")) as con:
            for number, event in enumerate(events, start=1):
                con.cursor().execute(
                    "insert into raw.orders (payload, _file_name, _file_row_number, _loaded_at)"
                    " select parse_json(%s), %s, %s, current_timestamp()",
                    (event, file_name, number),
                )

    land(first, "orders/batch-1.ndjson")
    models = ("--select", "base_shop__orders", "base_shop__order_lines")
    # fakesnow cannot run unit tests (temporary tables; test_dbt.py).
    built = dbt("build", *common, *models, "--exclude-resource-type", "unit_test",
                home=tmp_path, **env)  # fmt: skip
    assert built.returncode == 0, built.stdout[-3000:]
    land(later, "orders/batch-2.ndjson")
    compiled = dbt("compile", *common, *models, home=tmp_path, **env)
    assert compiled.returncode == 0, compiled.stdout[-3000:]

    with snowflake.connector.connect(**config.connect_args("staging_t21")) as con:
        headers = {
            (file, row): reason
            for file, row, reason in con.cursor()
            .execute("select _file_name, _file_row_number, invalid_reason from base_shop__orders")
            .fetchall()
        }
        [ordered_at] = (
            con.cursor()
            .execute("select ordered_at from base_shop__orders where order_id = 'O-TZ'")
            .fetchone()
        )
        incremental = {}
        for model in ("base_shop__orders", "base_shop__order_lines"):
            path = next((tmp_path / "target" / "compiled").rglob(f"{model}.sql"))
            sql = path.read_text()
            assert "base_shop__orders" in sql and "copy_rank" in sql  # the incremental branch
            sqlglot.parse_one(sql, read="snowflake")
            incremental[model] = (
                con.cursor()
                .execute(f"select _file_name, _file_row_number, invalid_reason from ({sql}) as run")
                .fetchall()
            )
    batch_1 = "orders/batch-1.ndjson"
    assert headers == {
        (batch_1, 1): None,
        (batch_1, 2): None,
        (batch_1, 3): None,
        (batch_1, 4): "unknown_channel",
        (batch_1, 5): "missing_event_id",
        (batch_1, 6): "duplicate_order_id",
        (batch_1, 7): None,
    }
    assert ordered_at == LOCAL - timedelta(hours=5)
    batch_2 = "orders/batch-2.ndjson"
    runs = {
        model: sorted(
            ((row, reason) for file, row, reason in rows if file == batch_2),
            key=lambda item: (item[0], item[1] or ""),
        )
        for model, rows in incremental.items()
    }
    assert runs["base_shop__orders"] == [
        (1, "conflicting_duplicate"), (3, "duplicate_order_id"), (4, None),
    ]  # fmt: skip
    assert runs["base_shop__order_lines"] == [
        (1, "conflicting_duplicate"), (1, "conflicting_duplicate"), (1, "conflicting_duplicate"),
        (3, "duplicate_order_id"), (4, None),
    ]  # fmt: skip
    # Re-reading the rows staged before changes nothing (the merge is idempotent).
    assert {
        (row, reason) for file, row, reason in incremental["base_shop__orders"] if file == batch_1
    } == {(row, reason) for (file, row), reason in headers.items()}
    lines_1 = sorted(reason or "" for file, _, reason in incremental["base_shop__order_lines"]
                     if file == batch_1)  # fmt: skip
    assert lines_1 == sorted(["", "", "", "invalid_quantity", "unknown_channel",
                              "missing_event_id", "duplicate_order_id",
                              "quantity_out_of_range"])  # fmt: skip
