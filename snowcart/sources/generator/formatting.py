"""A batch as NDJSON: each table's rows sorted, numbered, written as JSON lines by
the table's formatter (FORMATTERS), with the faults applied and the ledger made."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from snowcart.sources.generator.catalog import (
    CHANNELS,
    COUNTRIES,
    METHODS,
    MOVEMENT_TYPES,
    PAYMENT_STATUSES,
    PAYMENT_TYPES,
    STATUSES,
    TABLES,
    WEB_TYPES,
)
from snowcart.sources.generator.clock import money, timestamps
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.faults import damage, duplicate, late_times
from snowcart.sources.generator.ledger import amounts
from snowcart.sources.generator.orders import Orders
from snowcart.sources.generator.reference import Reference


@dataclass(frozen=True)
class Batch:
    """One micro-batch: NDJSON lines per landing table, and what they hold."""

    number: int
    lines_by_table: dict[str, list[str]]
    ledger: dict[str, dict[str, float]]

    @property
    def events(self) -> int:
        return sum(len(lines) for lines in self.lines_by_table.values())


def format_batch(b: BatchContext, carried: list[tuple[str, list[str]]]) -> Batch:
    """Sorts each table, numbers the events, applies the faults, writes the JSON."""
    faults, rng, offset = b.shop.faults, b.rng, b.state.offset
    lines_by_table: dict[str, list[str]] = {}
    ledger: dict[str, dict[str, float]] = {}
    good: dict[str, np.ndarray] = {}
    next_id = 0
    for table in TABLES:
        cols = b.columns(table)
        n = len(cols["t"])
        ids = [f"E{b.number:08d}-{i:07d}" for i in range(next_id, next_id + n)]
        next_id += n
        out_t = late_times(faults, rng, cols["t"] + offset, b.lo + offset)
        lines = FORMATTERS[table](b, cols, ids, timestamps(out_t)) if n else []
        malformed, invalid = damage(faults, rng, table, lines)
        lines_by_table[table] = lines
        good[table] = ~malformed
        ledger[table] = {
            "events": 0,
            "duplicates": 0,
            "malformed": int(malformed.sum()),
            "invalid": int(invalid.sum()),
        }
        ledger[table].update(amounts(table, cols, ~malformed & ~invalid))
    copies = duplicate(faults, rng, lines_by_table, good, carried, b.dup_here, b.state.carry)
    for table in TABLES:
        ledger[table]["events"] = len(lines_by_table[table])
        ledger[table]["duplicates"] = copies.get(table, 0)
    return Batch(number=b.number, lines_by_table=lines_by_table, ledger=ledger)


def line_json(ref: Reference, c: Orders, quantity=None, refund=None) -> list[str]:
    """Each order's lines as the inside of a JSON array (or its returned lines)."""
    pids = [ref.product_ids[p] for p in c.product.tolist()]
    prices = money(c.unit_price)
    if refund is None:
        items = [
            f'{{"line_number":{n},"product_id":"{p}","quantity":{q},"unit_price":{up},'
            f'"discount_amount":{d}}}'
            for n, p, q, up, d in zip(
                c.line_number.tolist(), pids, c.quantity.tolist(), prices, money(c.line_discount),
                strict=True,
            )
        ]  # fmt: skip
        ends = np.cumsum(c.line_count).tolist()
    else:
        keep = np.flatnonzero(quantity > 0)
        items = [
            f'{{"line_number":{n},"product_id":"{pids[i]}","quantity":{q},"unit_price":{prices[i]},'
            f'"refund_amount":{r}}}'
            for i, n, q, r in zip(
                keep.tolist(), c.line_number[keep].tolist(), quantity[keep].tolist(),
                money(refund[keep]), strict=True,
            )
        ]  # fmt: skip
        ends = np.cumsum(np.add.reduceat((quantity > 0).astype(np.int64), c.line_start)).tolist()
    starts = [0, *ends[:-1]]
    return [",".join(items[s:e]) for s, e in zip(starts, ends, strict=True)]


# ---------------------------------------------------------------- one formatter per table
# Each takes (batch, columns, event ids, event timestamps) and returns the lines.


def _product_json(b: BatchContext, products: np.ndarray) -> list[str]:
    lookup = [f'"{p}"' for p in b.shop.ref.product_ids] + ["null"]
    return [lookup[p] for p in products.tolist()]


def format_orders(b: BatchContext, cols, ids, stamps) -> list[str]:
    codes = [c[0] for c in COUNTRIES]
    customers = b.state.customer_ids_json(cols["customer"])
    return [
        f'{{"event_id":"{e}","event_type":"order_placed","event_at":"{ts}","order_id":"O{o:010d}",'
        f'"customer_id":{c},"channel":"{CHANNELS[ch]}","currency":"USD","ship_country":"{codes[sc]}",'
        f'"ordered_at":"{ts}","lines":[{ln}]}}'
        for e, ts, o, c, ch, sc, ln in zip(
            ids, stamps, cols["k"].tolist(), customers, cols["channel"].tolist(),
            cols["country"].tolist(), cols["lines"], strict=True,
        )
    ]  # fmt: skip


def format_order_status(b: BatchContext, cols, ids, stamps) -> list[str]:
    return [
        f'{{"event_id":"{e}","event_type":"order_status_changed","event_at":"{ts}",'
        f'"order_id":"O{k:010d}","status":"{STATUSES[s]}","status_at":"{ts}"}}'
        for e, ts, k, s in zip(
            ids, stamps, cols["k"].tolist(), cols["status"].tolist(), strict=True
        )
    ]


def format_returns(b: BatchContext, cols, ids, stamps) -> list[str]:
    codes = b.shop.ref.country_codes
    return [
        f'{{"event_id":"{e}","event_type":"order_returned","event_at":"{ts}",'
        f'"return_id":"R{k:010d}","order_id":"O{k:010d}","customer_id":{c},'
        f'"ship_country":"{codes[sc]}","returned_at":"{ts}","lines":[{ln}]}}'
        for e, ts, k, c, sc, ln in zip(
            ids, stamps, cols["k"].tolist(), b.state.customer_ids_json(cols["customer"]),
            cols["country"].tolist(), cols["lines"], strict=True,
        )
    ]  # fmt: skip


def format_payments(b: BatchContext, cols, ids, stamps) -> list[str]:
    suffix = ["R", "1", "2"]
    return [
        f'{{"event_id":"{e}","event_type":"{PAYMENT_TYPES[s]}","event_at":"{ts}",'
        f'"payment_id":"PM{k:010d}-{suffix[a]}","order_id":"O{k:010d}","method":"{METHODS[m]}",'
        f'"amount":{amount},"status":"{PAYMENT_STATUSES[s]}","paid_at":"{ts}"}}'
        for e, ts, k, a, m, amount, s in zip(
            ids, stamps, cols["k"].tolist(), cols["attempt"].tolist(), cols["method"].tolist(),
            money(cols["amount"]), cols["status"].tolist(), strict=True,
        )
    ]  # fmt: skip


def format_inventory(b: BatchContext, cols, ids, stamps) -> list[str]:
    pids = b.shop.ref.product_ids
    return [
        f'{{"event_id":"{e}","event_type":"inventory_movement","event_at":"{ts}",'
        f'"movement_id":"{mid}","product_id":"{pids[p]}","movement_type":"{MOVEMENT_TYPES[m]}",'
        f'"quantity_delta":{d},"moved_at":"{ts}"}}'
        for e, ts, mid, p, m, d in zip(
            ids, stamps, cols["movement"].tolist(), cols["product"].tolist(),
            cols["mtype"].tolist(), cols["delta"].tolist(), strict=True,
        )
    ]  # fmt: skip


def _entity_formatter(kind: str) -> Formatter:
    types = (f"{kind}_created", f"{kind}_updated")

    def format_entity(b: BatchContext, cols, ids, stamps) -> list[str]:
        return [
            f'{{"event_id":"{e}","event_type":"{types[x]}","event_at":"{ts}",{body},'
            f'"updated_at":"{ts}"}}'
            for e, ts, x, body in zip(
                ids, stamps, cols["etype"].tolist(), cols["body"].tolist(), strict=True
            )
        ]

    return format_entity


def format_web_events(b: BatchContext, cols, ids, stamps) -> list[str]:
    orders = ["null" if o < 0 else f'"O{o:010d}"' for o in cols["order"].tolist()]
    return [
        f'{{"event_id":"{e}","event_type":"{WEB_TYPES[x]}","event_at":"{ts}",'
        f'"session_id":"{sid}","customer_id":{c},"product_id":{p},"order_id":{o},'
        f'"occurred_at":"{ts}"}}'
        for e, ts, x, sid, c, p, o in zip(
            ids, stamps, cols["etype"].tolist(), cols["session"].tolist(),
            b.state.customer_ids_json(cols["customer"]), _product_json(b, cols["product"]), orders,
            strict=True,
        )
    ]  # fmt: skip


Formatter = Callable[[BatchContext, dict, list, list], list[str]]
FORMATTERS: dict[str, Formatter] = {
    "orders": format_orders,
    "order_status": format_order_status,
    "returns": format_returns,
    "payments": format_payments,
    "inventory": format_inventory,
    "customers": _entity_formatter("customer"),
    "products": _entity_formatter("product"),
    "web_events": format_web_events,
}
