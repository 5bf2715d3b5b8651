"""The plan of a batch: what goes in, in which order, within its event budget.

Time-driven events (lifecycle steps, scheduled entity changes) come first, in
time order; if they do not all fit (a tiny batch), the rest waits for the next
batch (the state's horizon) and no new orders are placed until everything due is
out. New orders and their sessions take what the budget leaves; browsing
sessions fill the rest, so a batch has exactly the lines asked for."""

from __future__ import annotations

import numpy as np

from snowcart.sources.generator.browsing import filler
from snowcart.sources.generator.catalog import CHANNELS, MINUTE_US, ORDER_SHARE, TABLES, US
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.entities import apply_pool, apply_scheduled
from snowcart.sources.generator.formatting import Batch, format_batch
from snowcart.sources.generator.hashing import cumulative, pick
from snowcart.sources.generator.lifecycle import EARLIEST_STEP_US, MAX_LIFE_US, Due
from snowcart.sources.generator.rows import emit_orders, lifecycle_rows
from snowcart.sources.generator.schedule import STOCK_ADJUSTMENT
from snowcart.sources.generator.stock import stock


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

    horizon = state.horizon
    cohorts = state.cohorts
    open_from = len(cohorts)
    if len(cohorts) and (cohorts.minute[-1] + 1) * MINUTE_US > lo:
        open_from = len(cohorts) - 1  # may still receive orders in this window
    # The reference pools come first, stamped at the window's start; the shop
    # opens (orders, sessions, scheduled changes) once they are all out.
    pool_total = b.shop.products + b.shop.customers
    pool_take = min(pool_total - state.pool_emitted, budget)
    if pool_take:
        apply_pool(b, np.full(pool_take, lo, dtype=np.int64))
        if state.pool_emitted == pool_total:
            state.pool_at = lo
    if state.pool_emitted < pool_total:
        state.horizon = state.last_end = hi
        filler(b, budget - b.used, False)
        return format_batch(b, carried)
    budget -= pool_take
    scheduled = b.shop.schedule.events(horizon, hi)
    due_closed = b.shop.lifecycle.due(state, cohorts.take(slice(0, open_from)), horizon, hi)
    guard = hi
    if open_from < len(cohorts):
        guard = min(hi, int((cohorts.minute[-1] + 1) * MINUTE_US + EARLIEST_STEP_US))

    # Decide first (line counts depend on hashes only), then apply in time order.
    times = np.concatenate((scheduled.t, due_closed.t))
    lines = np.concatenate((np.ones(len(scheduled.t), dtype=np.int64), due_closed.lines))
    placed, due = None, due_closed
    if lines.sum() > budget:
        cut = min(fitting_until(b, times, lines, budget), guard)
    else:
        placed, due_open, accepted = place_orders(b, budget - int(lines.sum()), open_from)
        due = Due.concat([due_closed, due_open])
        cut = hi
        if not accepted:  # even without new orders, the open cohort overflows
            times = np.concatenate((scheduled.t, due.t))
            lines = np.concatenate((np.ones(len(scheduled.t), dtype=np.int64), due.lines))
            cut = fitting_until(b, times, lines, budget)
    state.horizon = cut
    caught_up = cut >= hi
    apply_scheduled(b, scheduled.where(scheduled.t < cut))
    lifecycle_rows(b, due.where(due.t < cut))
    if placed is not None:
        emit_orders(b, placed)
    stock(b, scheduled.where((scheduled.t < cut) & (scheduled.kind == STOCK_ADJUSTMENT)))
    filler(b, b.room, caught_up)
    state.last_end = hi
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


def place_orders(b: BatchContext, room: int, open_from: int):
    """New orders and their web sessions, as many as fit `room` together with
    the lifecycle they start inside this window. (placed, due, accepted)"""
    state, rng = b.state, b.rng
    place_lo = max(b.lo, state.pool_at + 1)
    wanted = int(b.budget * ORDER_SHARE + rng.random()) if place_lo < b.hi else 0
    n = min(wanted, max(room, 0) // 12)
    for attempt in range(4):
        if attempt == 3:
            n = 0
        placed = draw_orders(b, n, place_lo) if n else None
        cohorts = state.cohorts.extended(placed["minute"], state.next_order) if n else state.cohorts
        due = b.shop.lifecycle.due(state, cohorts.take(slice(open_from, None)), state.horizon, b.hi)
        need = (placed["lines"] if n else 0) + due.line_total
        if need <= room:
            if n:
                state.cohorts = cohorts
                state.next_order += n
            return placed, due, True
        if not n:
            return None, due, False
        n = int(n * 0.9 * max(room, 0) / need)
    raise AssertionError("unreachable: the last attempt places no orders")


def draw_orders(b: BatchContext, n: int, place_lo: int) -> dict:
    state, rng = b.state, b.rng
    t = b.shop.rhythm.times(rng, n, place_lo, b.hi, state.offset)
    k = state.next_order + np.arange(n, dtype=np.int64)
    minute = t // MINUTE_US
    channel, line_count = b.shop.orders.channel_and_lines(k)
    web = np.flatnonzero(channel != CHANNELS.index("marketplace"))
    extra = pick(cumulative((0.4, 0.35, 0.25)), rng.random(len(web)))
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
        "lines": 2 * n + int(paid_now.sum()) + int(session_events.sum()),
    }
