"""Stock: adjustments, the sales and returns already in the batch, and restocks
where a product's stock runs low at one of its periodic checks."""

from __future__ import annotations

import numpy as np

from snowcart.sources.generator.catalog import ADJUSTMENT, HOUR_US, RESTOCK
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.schedule import Scheduled


def stock(b: BatchContext, adjustments: Scheduled) -> None:
    """Stock adjustments, then restocks where stock runs low (as the budget allows)."""
    state = b.state
    if len(adjustments.t):
        product = np.minimum(
            (adjustments.u[:, 0] * b.shop.products).astype(np.int64), b.shop.products - 1
        )
        delta = np.array([-3, -2, -1, -1, 1, 2])[(adjustments.u[:, 1] * 6).astype(np.int64)]
        numbered_movements(b, adjustments.t, product, delta, ADJUSTMENT)
    moves = [p for p in b.parts["inventory"]]
    if moves:
        t = np.concatenate([p["t"] for p in moves])
        product = np.concatenate([p["product"] for p in moves])
        delta = np.concatenate([p["delta"] for p in moves])
    else:
        t = product = delta = np.zeros(0, dtype=np.int64)
    slot_t, slot_p = b.shop.schedule.restock_slots(b.lo, b.hi)
    span_hours = (b.hi - b.lo) / HOUR_US
    sold = np.bincount(product[delta < 0], weights=-delta[delta < 0], minlength=b.shop.products)
    alpha = min(1.0, span_hours / 6)
    state.p_rate = (1 - alpha) * state.p_rate + alpha * (sold / max(span_hours, 1e-9))
    room = b.room
    restock_t, restock_p, restock_q = [], [], []
    if len(slot_t) and room > 0:
        # Stock of each product at each check: start + movements before it.
        key = product * (1 << 42) + (t - b.lo)
        order = np.argsort(key, kind="stable")
        cum = np.concatenate(([0], np.cumsum(delta[order])))
        key = key[order]
        before = cum[np.searchsorted(key, slot_p * (1 << 42) + (slot_t - b.lo), "left")]
        start = cum[np.searchsorted(key, slot_p * (1 << 42), "left")]
        moved = before - start
        target = np.maximum(b.shop.ref.initial_stock, np.ceil(state.p_rate)).astype(np.int64)
        added = np.zeros(b.shop.products, dtype=np.int64)
        for ts, p, m in zip(slot_t.tolist(), slot_p.tolist(), moved.tolist(), strict=True):
            level = int(state.p_stock[p]) + m + int(added[p])
            if level < target[p] * 0.3:
                quantity = int(target[p]) - level
                added[p] += quantity
                restock_t.append(ts)
                restock_p.append(p)
                restock_q.append(quantity)
                if len(restock_t) >= room:
                    break
    if restock_t:
        numbered_movements(
            b,
            np.array(restock_t, dtype=np.int64),
            np.array(restock_p, dtype=np.int64),
            np.array(restock_q, dtype=np.int64),
            RESTOCK,
        )
    for part in b.parts["inventory"]:
        np.add.at(state.p_stock, part["product"], part["delta"])


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
