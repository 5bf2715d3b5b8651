"""One batch in the making: the shop, the state it advances, its window, its
draws, and the rows collected so far per table (as column arrays)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from snowcart.sources.generator.catalog import TABLES
from snowcart.sources.generator.state import ShopState

if TYPE_CHECKING:
    from snowcart.sources.generator.shop import ShopGenerator


class Part(dict):
    """Columns of one table's rows: numpy arrays of one length; 't' is the event
    time (shop clock), 'key' the position in the file (= t unless a fault moves it).
    `deferrable`: rows that may wait for the next batch when this one is full
    (a new order's, a restock); `early`: rows an earlier batch made (its backlog)."""

    deferrable = False
    early = False


class BatchContext:
    """Everything the steps of one batch share. `state` is the batch's own copy,
    advanced as rows are made."""

    def __init__(
        self,
        shop: ShopGenerator,
        state: ShopState,
        number: int,
        events: int,
        lo: int,
        hi: int,
        rng: np.random.Generator,
    ) -> None:
        self.shop = shop
        self.state = state
        self.number = number
        self.events = events  # lines wanted, duplicates and carried lines included
        self.lo, self.hi = lo, hi  # the window on the shop clock
        self.rng = rng
        self.budget = events  # lines of new rows (set by the plan)
        self.dup_here = 0  # duplicates of this batch's own lines
        self.parts: dict[str, list[Part]] = {table: [] for table in TABLES}
        self.used = 0
        self.deferring = False  # rows added now may wait for the next batch
        self.orders_at_start = state.next_order  # orders before it were placed earlier
        self.demand = np.zeros(shop.products)  # units ordered in this batch, per product

    def add(self, table: str, deferrable: bool = False, early: bool = False, **columns) -> None:
        part = Part(columns)
        part.deferrable, part.early = deferrable or early or self.deferring, early
        if "key" not in part:
            part["key"] = part["t"]
        if len(part["t"]):
            self.parts[table].append(part)
            self.used += len(part["t"])

    @property
    def room(self) -> int:
        """Lines the budget still has."""
        return self.budget - self.used

    def columns(self, table: str) -> dict[str, np.ndarray]:
        """A table's rows, in file order."""
        parts = self.parts[table]
        if not parts:
            return {"t": np.zeros(0, dtype=np.int64), "key": np.zeros(0, dtype=np.int64)}
        names = list(parts[0])
        columns = {name: np.concatenate([part[name] for part in parts]) for name in names}
        order = np.argsort(columns["key"], kind="stable")
        return {name: values[order] for name, values in columns.items()}
