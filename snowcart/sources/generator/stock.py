"""Stock: adjustments, the sales and returns already in the batch, and purchase
orders. Every product's stock is checked every RESTOCK_PERIOD_US: below
REORDER_DAYS of demand (units ordered per day, smoothed over DEMAND_DAYS) a
purchase order for ORDER_UP_TO_DAYS of demand is placed; LEAD_DAYS later, at a
check, it arrives as a "restock" movement. So most products stay in stock and
a few run low while their order is on its way."""

from __future__ import annotations

import math

import numpy as np

from snowcart.sources.generator.catalog import (
    ADJUSTMENT,
    DAY_US,
    DEMAND_DAYS,
    LEAD_DAYS,
    MAX_STOCK,
    MIN_STOCK,
    ORDER_UP_TO_DAYS,
    REORDER_DAYS,
    RESTOCK,
    RESTOCK_PERIOD_US,
)
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.hashing import Slot
from snowcart.sources.generator.schedule import Scheduled


def stock(b: BatchContext, adjustments: Scheduled) -> None:
    """Stock adjustments, then purchase orders placed and received; the state's
    stock moves by every movement of the batch."""
    state = b.state
    if len(adjustments.t):
        product = np.minimum(
            (adjustments.u[:, 0] * b.shop.products).astype(np.int64), b.shop.products - 1
        )
        delta = np.array([-3, -2, -1, -1, 1, 2])[(adjustments.u[:, 1] * 6).astype(np.int64)]
        numbered_movements(b, adjustments.t, product, delta, ADJUSTMENT)
    days = (b.hi - b.lo) / DAY_US
    alpha = -math.expm1(-days / DEMAND_DAYS)
    state.p_rate = (1 - alpha) * state.p_rate + alpha * (b.demand / max(days, 1e-12))
    restock = purchase_orders(b)
    if restock is not None:
        numbered_movements(b, *restock, RESTOCK)
    move_stock(b)


def move_stock(b: BatchContext) -> None:
    """The state's stock moves by every movement this batch made."""
    for part in made_here(b):
        np.add.at(b.state.p_stock, part["product"], part["delta"])


def made_here(b: BatchContext) -> list:
    """This batch's inventory movements (not an earlier batch's backlog: those
    moved the stock when they were made)."""
    return [part for part in b.parts["inventory"] if not part.early]


def purchase_orders(b: BatchContext):
    """Receipts of purchase orders at this batch's stock checks, and orders
    placed: (times, products, quantities) of the receipts, or None."""
    state = b.state
    slot_t, slot_p = b.shop.schedule.restock_slots(b.lo, b.hi)
    if not len(slot_t):
        return None
    moves = made_here(b)
    t = np.concatenate([p["t"] for p in moves]) if moves else np.zeros(0, np.int64)
    product = np.concatenate([p["product"] for p in moves]) if moves else t
    delta = np.concatenate([p["delta"] for p in moves]) if moves else t
    # Stock of each product at each check: the state's + movements before it.
    key = product * (1 << 42) + (t - b.lo)
    order = np.argsort(key, kind="stable")
    cum = np.concatenate(([0], np.cumsum(delta[order])))
    key = key[order]
    before = cum[np.searchsorted(key, slot_p * (1 << 42) + (slot_t - b.lo), "left")]
    start = cum[np.searchsorted(key, slot_p * (1 << 42), "left")]
    level = state.p_stock[slot_p] + before - start
    reorder = np.maximum(REORDER_DAYS * state.p_rate, 1.0)
    up_to = np.maximum(ORDER_UP_TO_DAYS * state.p_rate, MIN_STOCK)
    low, high = LEAD_DAYS
    received_t, received_p, received_q = [], [], []
    by_product = np.argsort(slot_p, kind="stable")  # each product's checks, in time order
    bounds = np.searchsorted(slot_p[by_product], np.arange(b.shop.products + 1))
    for p in np.flatnonzero(np.diff(bounds)).tolist():
        rows = by_product[bounds[p] : bounds[p + 1]]
        times, levels, added, i = slot_t[rows], level[rows], 0, 0
        while i < len(rows):
            if state.p_po_qty[p]:  # an order on its way: the first check after it arrives
                i += int(np.searchsorted(times[i:], state.p_po_at[p], side="left"))
                if i >= len(rows):
                    break
                added += int(state.p_po_qty[p])
                received_t.append(int(times[i]))
                received_p.append(p)
                received_q.append(int(state.p_po_qty[p]))
                state.p_po_qty[p] = 0
            low_at = np.flatnonzero(levels[i:] + added < reorder[p])
            if not len(low_at):
                break
            i += int(low_at[0])
            quantity = min(math.ceil(up_to[p] - levels[i] - added), MAX_STOCK)
            period = int(times[i]) // RESTOCK_PERIOD_US
            lead = (
                low + (high - low) * b.shop.keys.u(Slot.LEAD_TIME, np.array([period * 4096 + p]))[0]
            )
            state.p_po_qty[p] = max(quantity, 1)
            state.p_po_at[p] = int(times[i]) + int(lead * DAY_US)
            i += 1
    if not received_t:
        return None
    order = np.argsort(np.array(received_t), kind="stable")
    return tuple(np.array(v, dtype=np.int64)[order] for v in (received_t, received_p, received_q))


def numbered_movements(b: BatchContext, t, product, delta, kind) -> None:
    state = b.state
    ids = np.array(
        [f"MA{n:010d}" for n in range(state.next_movement, state.next_movement + len(t))],
        dtype=object,
    )
    state.next_movement += len(t)
    b.add(
        "inventory",
        t=t,
        movement=ids,
        product=product,
        mtype=np.full(len(t), kind, dtype=np.int64),
        delta=delta,
    )
