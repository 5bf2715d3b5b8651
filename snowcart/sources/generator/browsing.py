"""Browsing sessions that buy nothing: they fill a batch to its exact size."""

from __future__ import annotations

import numpy as np

from snowcart.sources.generator.catalog import CART, CHECKOUT, CUSTOMER_POWER, MINUTE_US, US, VIEW
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.hashing import cumulative, pick


def filler(b: BatchContext, lines: int, browsing: bool) -> None:
    """Sessions that buy nothing: exactly `lines` web events. Before the shop
    is open (reference pools incomplete) they are anonymous landing views."""
    if lines <= 0:
        return
    state, rng = b.state, b.rng
    lo = max(b.lo, state.pool_at + 1) if browsing else b.lo
    if lo >= b.hi:
        lo, browsing = b.lo, False
    m = lines
    views = (
        1 + pick(cumulative((0.45, 0.30, 0.15, 0.10)), rng.random(m))
        if browsing
        else np.ones(m, np.int64)
    )
    cart = (rng.random(m) < 0.35) & browsing
    checkout = cart & (rng.random(m) < 0.35)
    size = views + cart + checkout
    cum = np.cumsum(size)
    sessions = int(np.searchsorted(cum, lines, side="left")) + 1
    size = size[:sessions].copy()
    size[-1] -= int(cum[sessions - 1]) - lines
    views, cart = views[:sessions], cart[:sessions]
    owner = np.repeat(np.arange(sessions), size)
    step = np.arange(lines) - np.repeat(np.cumsum(size) - size, size)
    kind = np.where(step < views[owner], VIEW, np.where(step == views[owner], CART, CHECKOUT))
    ref = b.shop.ref
    product = ref.popularity_order[pick(ref.popularity_cum, rng.random(lines))]
    landing = (step == 0) & (rng.random(lines) < 0.3)
    product = np.where(landing | (kind == CHECKOUT) | (not browsing), -1, product)
    start = b.shop.rhythm.times(rng, sessions, lo, b.hi, state.offset)
    gap = rng.uniform(5, 90, sessions) * US
    length = np.minimum((size - 1) * gap, b.hi - 1 - start)
    times = start[owner] + (length[owner] * step / np.maximum(size[owner] - 1, 1)).astype(np.int64)
    customer = np.full(sessions, -1, dtype=np.int64)
    if browsing:
        logged_in = rng.random(sessions) < 0.5
        eligible = np.searchsorted(state.c_created, (start // MINUTE_US) * MINUTE_US, "left")
        chosen = (eligible * rng.random(sessions) ** CUSTOMER_POWER).astype(np.int64)
        customer = np.where(logged_in & (eligible > 0), np.minimum(chosen, eligible - 1), -1)
    ids = np.array(
        [f"A{n:010d}" for n in range(state.next_session, state.next_session + sessions)],
        dtype=object,
    )
    state.next_session += sessions
    b.add(
        "web_events",
        t=times,
        etype=kind,
        session=ids[owner],
        customer=customer[owner],
        product=product,
        order=np.full(lines, -1, dtype=np.int64),
    )
