"""Browsing sessions that buy nothing: they fill a batch to its exact size.

Most visitors leave after a page or two; about one in ten puts something in the
cart and a third of those reach checkout (BROWSE_*). A session is never cut
short: when the batch is full, the rest of its last session waits in the state
(`session_rest`) and opens the next batch's browsing."""

from __future__ import annotations

import numpy as np

from snowcart.sources.generator.catalog import (
    BROWSE_CART,
    BROWSE_CHECKOUT,
    BROWSE_VIEW_WEIGHTS,
    CART,
    CHECKOUT,
    US,
    VIEW,
)
from snowcart.sources.generator.columns import rows, take
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.hashing import cumulative, pick

_VIEWS_CUM = cumulative(BROWSE_VIEW_WEIGHTS)
REST_GAP_US = 30 * US  # between the next events of a session carried over


def filler(b: BatchContext, lines: int, browsing: bool) -> None:
    """Exactly `lines` web events of sessions that buy nothing. Before the shop
    is open (reference pools incomplete) they are anonymous landing views."""
    if lines <= 0:
        return
    state = b.state
    lo = max(b.lo, state.pool_at + 1) if browsing else b.lo
    if lo >= b.hi:
        lo, browsing = b.lo, False
    if not browsing:
        _landing_views(b, lines)
        return
    lines -= _continue_session(b, lines, lo)
    if lines > 0:
        _new_sessions(b, lines, lo)


def _landing_views(b: BatchContext, lines: int) -> None:
    state = b.state
    start = b.shop.rhythm.times(b.rng, lines, b.lo, b.hi, state.offset)
    _add(
        b,
        start,
        np.full(lines, VIEW),
        _session_ids(b, lines),
        np.full(lines, -1),
        np.full(lines, -1),
    )


def _continue_session(b: BatchContext, lines: int, lo: int) -> int:
    """The next events of a session an earlier batch could not hold."""
    rest = b.state.session_rest
    n = min(rows(rest), lines)
    if not n:
        return 0
    step = min(REST_GAP_US, (b.hi - lo) // (n + 1))
    times = lo + step * np.arange(1, n + 1, dtype=np.int64)
    now = take(rest, slice(0, n))
    _add(b, times, now["kind"], now["session"], now["customer"], now["product"])
    b.state.session_rest = take(rest, slice(n, None)) if n < rows(rest) else {}
    return n


def _new_sessions(b: BatchContext, lines: int, lo: int) -> None:
    state, rng, ref = b.state, b.rng, b.shop.ref
    m = lines  # enough sessions: each has at least one event
    views = 1 + pick(_VIEWS_CUM, rng.random(m))
    cart = rng.random(m) < BROWSE_CART
    checkout = cart & (rng.random(m) < BROWSE_CHECKOUT)
    size = views + cart + checkout
    cum = np.cumsum(size)
    sessions = int(np.searchsorted(cum, lines, side="left")) + 1
    size, views = size[:sessions], views[:sessions]
    total = int(cum[sessions - 1])
    owner = np.repeat(np.arange(sessions), size)
    step = np.arange(total) - np.repeat(np.cumsum(size) - size, size)
    kind = np.where(step < views[owner], VIEW, np.where(step == views[owner], CART, CHECKOUT))
    product = ref.popularity_order[pick(ref.popularity_cum, rng.random(total))]
    landing = (step == 0) & (rng.random(total) < 0.3)
    product = np.where(landing | (kind == CHECKOUT), -1, product)
    start = b.shop.rhythm.times(rng, sessions, lo, b.hi, state.offset)
    gap = rng.uniform(5, 90, sessions) * US
    length = np.minimum((size - 1) * gap, b.hi - 1 - start)
    times = start[owner] + (length[owner] * step / np.maximum(size[owner] - 1, 1)).astype(np.int64)
    logged_in = rng.random(sessions) < 0.5
    known = b.shop.orders.people.returning(state, b.orders_at_start, rng.random(sessions))
    customer = np.where(logged_in, known, -1)[owner]
    ids = _session_ids(b, sessions)[owner]
    _add(b, times[:lines], kind[:lines], ids[:lines], customer[:lines], product[:lines])
    if total > lines:  # the last session goes on in the next batch
        state.session_rest = {
            "kind": kind[lines:],
            "session": ids[lines:],
            "customer": customer[lines:],
            "product": product[lines:],
        }


def _session_ids(b: BatchContext, n: int) -> np.ndarray:
    state = b.state
    ids = np.array(
        [f"A{x:010d}" for x in range(state.next_session, state.next_session + n)], dtype=object
    )
    state.next_session += n
    return ids


def _add(b: BatchContext, t, kind, session, customer, product) -> None:
    b.add(
        "web_events",
        t=np.asarray(t, dtype=np.int64),
        etype=np.asarray(kind, dtype=np.int64),
        session=session,
        customer=np.asarray(customer, dtype=np.int64),
        product=np.asarray(product, dtype=np.int64),
        order=np.full(len(t), -1, dtype=np.int64),
    )
