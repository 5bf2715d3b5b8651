"""The plan of a batch: what goes in, in which order, within its event budget.

A batch has exactly the lines asked for, however few. What it holds:

1. rows an earlier batch made but could not hold (the state's backlog);
2. the reference pools, first of all (the shop opens once they are out);
   only the first order comes before them, with the products and the customer
   it needs (`open_shop`), so even a first batch of 5 events holds an order;
3. time-driven events (lifecycle steps, scheduled entity changes), in time
   order, as many as fit; the rest waits (the state's horizon);
4. new orders with their sessions: each batch adds its expected orders
   (lines x ORDER_SHARE) to the remainder the state carries and places the
   whole orders in it, whatever its size, so orders keep their share at any
   rate; with restocks, what does not fit waits in the backlog (web events
   first) and goes out first in the next batch;
5. browsing sessions filling the rest (a session the batch cannot finish goes
   on in the next)."""

from __future__ import annotations

import numpy as np

from snowcart.sources.generator.browsing import filler
from snowcart.sources.generator.catalog import CHANNELS, MINUTE_US, ORDER_SHARE, TABLES, US
from snowcart.sources.generator.columns import concat, rows, take
from snowcart.sources.generator.context import BatchContext, Part
from snowcart.sources.generator.entities import apply_pool, apply_scheduled
from snowcart.sources.generator.formatting import Batch, format_batch
from snowcart.sources.generator.hashing import cumulative, pick
from snowcart.sources.generator.lifecycle import MAX_LIFE_US
from snowcart.sources.generator.rows import emit_orders, lifecycle_rows
from snowcart.sources.generator.schedule import STOCK_ADJUSTMENT
from snowcart.sources.generator.state import BORN
from snowcart.sources.generator.stock import move_stock, stock


def build(b: BatchContext) -> Batch:
    """Make the batch, advancing `b.state`."""
    state, lo, hi = b.state, b.lo, b.hi
    faults = b.shop.faults
    carried = take_carried(b)
    budget = b.events - sum(len(lines) for _, lines in carried)
    if faults.duplicate_rate > 0 and budget > 1:
        base = int(round(budget / (1 + 0.7 * faults.duplicate_rate)))
        b.dup_here, budget = budget - base, base
    b.budget = budget
    take_backlog(b)

    # The reference pools come first, stamped at the window's start; the shop
    # opens (orders, sessions, scheduled changes) once they are all out. Only the
    # first order comes before them, with the rows it needs (`open_shop`).
    pool_rows, pool_total = 0, b.shop.products + b.shop.customers
    if state.pool_emitted < pool_total:
        pool_rows = open_shop(b)
        left = pool_total - state.pool_emitted
        if left > max(b.room, 0):
            return before_opening(b, carried)
        apply_pool(b, state.pool_next(left))
        pool_rows += left
        state.pool_at = lo
    room = max(b.room, 0)  # for time-driven events

    # New orders: their expected number, carried over from batch to batch.
    state.owed_orders += (budget - pool_rows) * ORDER_SHARE
    place_lo = max(lo, state.pool_at + 1)
    placed = None
    if state.owed_orders >= 1 and place_lo < hi:
        n = int(state.owed_orders)
        state.owed_orders -= n
        placed = place_orders(b, n, place_lo)

    # Time-driven events, computed after placing (a window can hold the first
    # steps of its own orders); what does not fit waits for the next batch.
    horizon = state.horizon
    scheduled = b.shop.schedule.events(max(horizon, state.pool_at), hi)
    due = b.shop.lifecycle.due(state, state.cohorts, horizon, hi)
    times = np.concatenate((scheduled.t, due.t))
    lines = np.concatenate((np.ones(len(scheduled.t), dtype=np.int64), due.lines))
    cut = hi if lines.sum() <= room else fitting_until(b, times, lines, room)
    state.horizon = cut
    apply_scheduled(b, scheduled.where(scheduled.t < cut))
    lifecycle_rows(b, due.where(due.t < cut))
    b.deferring = True
    if placed is not None:
        emit_orders(b, placed)
    stock(b, scheduled.where((scheduled.t < cut) & (scheduled.kind == STOCK_ADJUSTMENT)))
    b.deferring = False
    filler(b, b.room, True)
    defer_overflow(b)
    state.last_end = hi
    state.prune(MAX_LIFE_US)
    return format_batch(b, carried)


def open_shop(b: BatchContext) -> int:
    """The first order of a shop whose pools are not out yet, if this batch has
    room for it: the products and the customer it needs go out first (ahead of
    their turn in the pools), the order a microsecond later (its customer, if new,
    with the products). A fresh shop's first order has at most FIRST_ORDER_LINES
    lines, so a first batch of 5 events holds it. Returns the pool rows sent
    ahead."""
    state, lo = b.state, b.lo
    if state.next_order != state.first_order:  # it is out already
        return 0
    at = min(lo + 1, b.hi - 1)
    content = b.shop.orders.content(
        state, np.array([state.next_order]), np.array([at // MINUTE_US])
    )
    needs = np.unique(content.product)
    customer = int(content.customer[0])
    if 0 <= customer < BORN:  # an initial customer's (else a guest's, or one new with it)
        needs = np.append(needs, b.shop.products + customer)
    missing = needs[~state.pool_out(needs)]
    if b.room < len(missing) + 1 + int(content.new_customer[0]):
        return 0
    apply_pool(b, missing, ahead=True)
    b.deferring = True  # what does not fit waits in the backlog, as new orders' rows do
    emit_orders(b, place_orders(b, 1, lo, at=at))
    b.deferring = False
    return len(missing)


def before_opening(b: BatchContext, carried: list[tuple[str, list[str]]]) -> Batch:
    """A batch that ends before the pools are all out: the first order's
    lifecycle events due (as many as fit), then as many pool rows as fit."""
    state = b.state
    due = b.shop.lifecycle.due(state, state.cohorts, state.horizon, b.hi)
    room = max(b.room, 0)
    cut = b.hi if due.lines.sum() <= room else fitting_until(b, due.t, due.lines, room)
    lifecycle_rows(b, due.where(due.t < cut))
    move_stock(b)
    apply_pool(b, state.pool_next(max(b.room, 0)))
    defer_overflow(b)
    state.horizon, state.last_end = cut, b.hi
    state.prune(MAX_LIFE_US)
    return format_batch(b, carried)


def fitting_until(b: BatchContext, times: np.ndarray, lines: np.ndarray, budget: int) -> int:
    """The earliest time such that everything before it fits the budget."""
    if not len(times):
        return b.hi
    order = np.argsort(times, kind="stable")
    cum = np.cumsum(lines[order])
    over = np.searchsorted(cum, budget, side="right")
    if over >= len(times):
        return b.hi
    return int(times[order][over])


def take_carried(b: BatchContext) -> list[tuple[str, list[str]]]:
    """Duplicates left over from the last batch: as many as fit this batch."""
    state, room, taken, left = b.state, b.events, [], {}
    for table in TABLES:
        lines = state.carry.get(table, [])
        take = min(len(lines), room)
        if take:
            taken.append((table, lines[:take]))
        if lines[take:]:
            left[table] = lines[take:]
        room -= take
    state.carry = left
    return taken


def take_backlog(b: BatchContext) -> None:
    """The rows earlier batches could not hold: in this batch (those that do
    not fit either go back to the backlog at the end)."""
    for table, columns in b.state.backlog.items():
        if rows(columns):
            b.add(table, early=True, **columns)
    b.state.backlog = {}


def defer_overflow(b: BatchContext) -> None:
    """If the batch holds more than its budget, the latest deferrable rows wait
    in the backlog: web events first, then the rest; earlier rows go out first
    (at the same time, a customer before the order it came with)."""
    over = b.used - b.budget
    if over <= 0:
        return
    found = []  # (table, columns) of every deferrable part
    for table in TABLES:
        keep = [part for part in b.parts[table] if not part.deferrable]
        found += [(table, dict(part)) for part in b.parts[table] if part.deferrable]
        b.parts[table] = keep
    table_of = np.concatenate([np.full(rows(c), i) for i, (_, c) in enumerate(found)])
    t = np.concatenate([c["t"] for _, c in found])
    web = np.array([table == "web_events" for table, _ in found])
    customer = np.array([table == "customers" for table, _ in found])
    rank = np.lexsort((~customer[table_of], t, web[table_of]))
    out = np.zeros(len(t), dtype=bool)
    out[rank[: len(t) - over]] = True
    start = np.concatenate(([0], np.cumsum([rows(c) for _, c in found])))
    kept: dict[str, list] = {table: [] for table in TABLES}
    waiting: dict[str, list] = {table: [] for table in TABLES}
    for i, (table, columns) in enumerate(found):
        now = out[start[i] : start[i + 1]]
        kept[table].append(take(columns, now))
        waiting[table].append(take(columns, ~now))
    b.used -= over
    for table in TABLES:
        columns = concat(kept[table])
        if rows(columns):
            b.parts[table].append(Part(columns))
        left = concat(waiting[table])
        if rows(left):
            b.state.backlog[table] = left


def place_orders(b: BatchContext, n: int, place_lo: int, at: int | None = None) -> dict:
    """n new orders in [place_lo, hi): drawn, numbered, in the state's cohorts.
    `at`: one order placed then, whose session views only what it buys."""
    state = b.state
    placed = draw_orders(b, n, place_lo, at)
    state.cohorts = state.cohorts.extended(placed["minute"], state.next_order)
    state.index_hours(placed["t"], state.next_order)
    state.next_order += n
    return placed


def draw_orders(b: BatchContext, n: int, place_lo: int, at: int | None = None) -> dict:
    state, rng = b.state, b.rng
    if at is None:
        t = b.shop.rhythm.times(rng, n, place_lo, b.hi, state.offset)
    else:
        t = np.full(n, at, dtype=np.int64)
    k = state.next_order + np.arange(n, dtype=np.int64)
    minute = t // MINUTE_US
    channel, line_count = b.shop.orders.channel_and_lines(state, k)
    web = np.flatnonzero(channel != CHANNELS.index("marketplace"))
    extra = pick(cumulative((0.4, 0.35, 0.25)), rng.random(len(web)))
    if at is not None:  # no views of other products: they may not be out yet
        extra[:] = 0
    session_events = extra + 2 * line_count[web] + 2
    outcome = b.shop.orders.outcomes(k)
    paid_now = ~outcome["fail1"] & ~outcome["hold_paid"]
    return {
        "outcome": outcome,
        "paid_now": paid_now,
        "t": t,
        "k": k,
        "minute": minute,
        "web": web,
        "extra": extra,
        "session_events": session_events,
        "session_length": rng.uniform(60, 1200, len(web)) * US,
        "extra_draws": rng.random(int(extra.sum())),
        "place_lo": place_lo,
    }
