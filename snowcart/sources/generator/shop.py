"""ShopGenerator: a seed's shop (reference pools, hash keys, demand, order and
lifecycle models, schedule) and the batch function over its state."""

from __future__ import annotations

from datetime import datetime

import numpy as np

from snowcart.sources.generator.batches import build
from snowcart.sources.generator.clock import Rhythm, to_us
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.faults import Faults
from snowcart.sources.generator.formatting import Batch
from snowcart.sources.generator.hashing import Keys
from snowcart.sources.generator.lifecycle import Lifecycle
from snowcart.sources.generator.orders import OrderModel
from snowcart.sources.generator.reference import reference
from snowcart.sources.generator.schedule import Schedule
from snowcart.sources.generator.state import ShopState


class ShopGenerator:
    """Every event of a shop, batch by batch; deterministic for a seed and state.

    `make(state, ...)` is the pure form: it returns the batch and the next state
    and leaves `state` as it was. `batch(...)` is the convenient one: it continues
    from `self.state` and keeps the next state there. `customers` is the number
    of initial customers (the shop's base before its first order); `products`
    the catalogue."""

    def __init__(
        self,
        seed: int = 42,
        faults: Faults | None = None,
        customers: int = 100,
        products: int = 200,
        state: ShopState | None = None,
    ) -> None:
        if state is not None:  # the pool sizes are the state's
            customers, products = state.customers, state.products
        if customers < 1 or products < 1:
            raise ValueError("customers and products must be >= 1")
        self.seed = seed
        self.faults = faults = faults or Faults()
        self.customers = customers
        self.products = products
        self.ref = reference(seed, products)
        self.keys = Keys(seed)
        self.rhythm = Rhythm(self.keys)
        self.orders = OrderModel(self.keys, self.ref, self.rhythm, faults.out_of_order_rate)
        self.lifecycle = Lifecycle(self.keys, self.orders)
        self.schedule = Schedule(seed, self.keys, self.rhythm, customers, products)
        self.state = state if state is not None else self.fresh_state()

    def fresh_state(self, next_order: int = 1) -> ShopState:
        """The state of a shop that has emitted nothing yet; its first order is
        numbered `next_order`."""
        return ShopState.fresh(self.seed, self.ref, self.customers, self.products, next_order)

    def make(
        self,
        state: ShopState,
        number: int,
        events: int,
        window_start: datetime,
        window_end: datetime,
    ) -> tuple[Batch, ShopState]:
        """About `events` lines (exactly, unless a fault adds lines) of every table,
        placed in [window_start, window_end), continuing from `state`: the batch
        and the state after it."""
        if (state.customers, state.products) != (self.customers, self.products):
            raise ValueError("the state's pool sizes differ from the generator's")
        after = state.copy()
        if (after.p_initial < 0).any():  # a version 1 state: its products' initial stock
            after.p_initial = self.ref.legacy_stock.astype(np.int64).copy()
        ws = to_us(window_start)
        lo, hi = after.open_window(ws, max(to_us(window_end) - ws, 1))
        rng = np.random.default_rng([self.seed, 4, number])
        context = BatchContext(self, after, number, max(int(events), 0), lo, hi, rng)
        return build(context), after

    def batch(
        self, number: int, events: int, window_start: datetime, window_end: datetime
    ) -> Batch:
        """The next batch after `self.state` (see `make`)."""
        batch, self.state = self.make(self.state, number, events, window_start, window_end)
        return batch

    def activity(self, window_start: datetime, window_end: datetime) -> float:
        """Expected demand in a window, in average-seconds: the window's length in
        seconds weighted by the daily/weekly rhythm and promotions (a week of
        activity is ~604,800). Multiply by an average rate for a volume."""
        return self.rhythm.activity(to_us(window_start), to_us(window_end))
