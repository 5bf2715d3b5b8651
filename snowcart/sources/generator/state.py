"""The generator's whole state between two batches: one value, JSON-serialisable.

A batch is a function of (seed, faults, state, batch plan) that returns the next
state; the producer keeps the state in its checkpoint and hands it back on a
restart. Everything else (reference pools, hash keys) follows from the seed."""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field

import numpy as np

from snowcart.sources.generator.catalog import (
    AGE_WEIGHTS,
    COUNTRIES,
    DAY_US,
    HOUR_US,
    MINUTE_US,
    SEGMENT_WEIGHTS,
)
from snowcart.sources.generator.columns import Columns, from_lists, rows, to_lists
from snowcart.sources.generator.hashing import cumulative, pick
from snowcart.sources.generator.reference import Reference

STATE_VERSION = 2
BORN = 1 << 40  # customer code of the customer who came with order k: BORN + k
BORN_ID = 1_000_000  # ... and its id: C(BORN_ID + k)


@dataclass
class Cohorts:
    """Orders per minute of placement: order numbers first_k .. first_k + count - 1."""

    minute: np.ndarray
    first_k: np.ndarray
    count: np.ndarray

    @classmethod
    def empty(cls) -> Cohorts:
        return cls(*(np.zeros(0, dtype=np.int64) for _ in range(3)))

    def __len__(self) -> int:
        return len(self.minute)

    def take(self, index) -> Cohorts:
        return Cohorts(self.minute[index], self.first_k[index], self.count[index])

    def extended(self, minutes: np.ndarray, first_k: int) -> Cohorts:
        """With orders first_k, first_k + 1, ... placed in `minutes` (sorted, not
        before the last cohort's minute)."""
        if not len(minutes):
            return self
        unique, counts = np.unique(minutes, return_counts=True)
        minute, first, count = self.minute.copy(), self.first_k.copy(), self.count.copy()
        if len(minute) and minute[-1] == unique[0]:
            count[-1] += counts[0]
            first_k += int(counts[0])
            unique, counts = unique[1:], counts[1:]
        starts = (first_k + np.cumsum(counts) - counts).astype(np.int64)
        return Cohorts(
            np.concatenate((minute, unique)).astype(np.int64),
            np.concatenate((first, starts)).astype(np.int64),
            np.concatenate((count, counts)).astype(np.int64),
        )


def _ints(values) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


_SCALARS = (
    "origin", "offset", "last_end", "horizon", "pool_at", "pool_emitted", "next_order",
    "next_movement", "next_session",
)  # fmt: skip
_CUSTOMER = ("country", "region", "city", "age", "segment", "email_version", "signup", "created")
_OVERRIDE = ("code", "region", "city", "segment", "email_version")
_PRODUCT = ("price", "cost", "stock", "initial", "po_qty", "po_at")
_HISTORY = ("product", "minute", "price")


def _empty() -> np.ndarray:
    return np.zeros(0, dtype=np.int64)


@dataclass
class ShopState:
    """Clock, counters, the initial customers (c_*) and changes to customers who
    came with an order (o_*, see `customers`), products (p_*), price history
    (h_*), open order cohorts, what a batch's budget could not hold yet (the
    expected orders' remainder, a backlog of rows, the rest of a browsing
    session) and duplicates carried to the next batch."""

    customers: int
    products: int
    c_country: np.ndarray
    c_region: np.ndarray
    c_city: np.ndarray
    c_age: np.ndarray
    c_segment: np.ndarray
    c_email_version: np.ndarray
    c_signup: np.ndarray  # relative to the first batch until it starts
    c_created: np.ndarray  # -1: in the initial pool (later: a version 1 sign-up)
    p_price: np.ndarray  # cents
    p_cost: np.ndarray
    p_stock: np.ndarray
    p_rate: np.ndarray  # demand: units ordered per day, smoothed
    h_product: np.ndarray  # sorted by (product, minute)
    h_minute: np.ndarray
    h_price: np.ndarray
    p_initial: np.ndarray = field(default_factory=_empty)  # initial stock (set with the pool)
    p_po_qty: np.ndarray = field(default_factory=_empty)  # open purchase order: units, 0: none
    p_po_at: np.ndarray = field(default_factory=_empty)  # ... and when it arrives
    o_code: np.ndarray = field(default_factory=_empty)  # sorted
    o_region: np.ndarray = field(default_factory=_empty)
    o_city: np.ndarray = field(default_factory=_empty)
    o_segment: np.ndarray = field(default_factory=_empty)
    o_email_version: np.ndarray = field(default_factory=_empty)
    # Orders before first_order are history (another producer's, or a version 1
    # state's): a returning customer reaching back there is an initial customer.
    first_order: int = 1
    # A fresh shop's first order is a small one (catalog.FIRST_ORDER_LINES); not
    # in a state saved before that rule, whose first order may be out already.
    small_first_order: bool = False
    # The first order number placed at or after each hour since the origin.
    hour_first_k: np.ndarray = field(default_factory=_empty)
    owed_orders: float = 0.0  # expected orders not placed yet (below one)
    backlog: dict[str, Columns] = field(default_factory=dict)  # rows made, not out yet
    session_rest: Columns = field(default_factory=dict)  # a browsing session's next events
    origin: int | None = None  # shop clock at the start of the first batch's day
    offset: int = 0  # output time = shop clock + offset (the current one)
    # Offset history: from shop time offset_from[i] on, offset_value[i] applies.
    # Rhythm and promotions follow output (wall) time, also after a pause.
    offset_from: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    offset_value: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    last_end: int | None = None  # shop clock where the last batch's window ended
    horizon: int | None = None  # events before it are out; a tiny batch may lag behind
    pool_at: int | None = None  # when the last reference pool event went out
    pool_emitted: int = 0  # reference pool rows out (products first, then customers)
    # ... of which these went out ahead of their turn, with the first order (sorted).
    pool_ahead: np.ndarray = field(default_factory=_empty)
    next_order: int = 1
    next_movement: int = 1
    next_session: int = 1
    cohorts: Cohorts = field(default_factory=Cohorts.empty)
    carry: dict[str, list[str]] = field(default_factory=dict)
    _cache: dict = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def fresh(
        cls, seed: int, ref: Reference, customers: int, products: int, next_order: int = 1
    ) -> ShopState:
        """A shop before its first batch: the initial customers, nothing emitted;
        its first order is numbered next_order (orders before it are history)."""
        rng = np.random.default_rng([seed, 3])
        n = customers
        country = pick(ref.country_cum, rng.random(n))
        region = ref.region_first[country] + (
            rng.random(n) ** 1.6 * ref.region_count[country]
        ).astype(np.int64)
        city = ref.city_first[region] + (rng.random(n) * ref.city_count[region]).astype(np.int64)
        return cls(
            customers=customers,
            products=products,
            c_country=country,
            c_region=region,
            c_city=city,
            c_age=pick(cumulative(AGE_WEIGHTS), rng.random(n)),
            c_segment=pick(cumulative(SEGMENT_WEIGHTS), rng.random(n)),
            c_email_version=np.zeros(n, dtype=np.int64),
            # Sign-up up to three years before the first batch (relative until then).
            c_signup=-(rng.random(n) * 3 * 365 * DAY_US).astype(np.int64),
            c_created=np.full(n, -1, dtype=np.int64),
            p_price=ref.base_price.copy(),
            p_cost=ref.base_cost.copy(),
            p_stock=np.zeros(products, dtype=np.int64),
            p_rate=np.zeros(products),
            h_product=np.arange(products, dtype=np.int64),
            h_minute=np.zeros(products, dtype=np.int64),
            h_price=ref.base_price.copy(),
            p_initial=np.zeros(products, dtype=np.int64),
            p_po_qty=np.zeros(products, dtype=np.int64),
            p_po_at=np.zeros(products, dtype=np.int64),
            first_order=next_order,
            small_first_order=True,
            next_order=next_order,
        )

    def copy(self) -> ShopState:
        return copy.deepcopy(self)

    # ------------------------------------------------------------ serialisation

    def to_dict(self) -> dict:
        cohorts = self.cohorts
        return {
            "version": STATE_VERSION,
            "customers": self.customers,
            "products": self.products,
            **{name: getattr(self, name) for name in _SCALARS[:2]},
            "offsets": [self.offset_from.tolist(), self.offset_value.tolist()],
            **{name: getattr(self, name) for name in _SCALARS[2:]},
            "pool_ahead": self.pool_ahead.tolist(),
            "customer": {name: getattr(self, f"c_{name}").tolist() for name in _CUSTOMER},
            "customer_changes": {name: getattr(self, f"o_{name}").tolist() for name in _OVERRIDE},
            "first_order": self.first_order,
            "small_first_order": self.small_first_order,
            "hour_first_k_steps": np.diff(self.hour_first_k, prepend=0).tolist(),
            "owed_orders": self.owed_orders,  # floats round-trip exactly through JSON
            "backlog": {
                table: to_lists(cols) for table, cols in self.backlog.items() if rows(cols)
            },
            "session_rest": to_lists(self.session_rest),
            "product": {
                **{name: getattr(self, f"p_{name}").tolist() for name in _PRODUCT},
                "rate": self.p_rate.tolist(),
            },
            "price_history": {name: getattr(self, f"h_{name}").tolist() for name in _HISTORY},
            # Orders are numbered in placement order: a cohort starts where the last
            # ended, so its first order number is implied; minutes as steps.
            "cohorts": {
                "first_k": int(cohorts.first_k[0]) if len(cohorts) else self.next_order,
                "minute_steps": np.diff(cohorts.minute, prepend=0).tolist(),
                "count": cohorts.count.tolist(),
            },
            "carry": {table: list(lines) for table, lines in self.carry.items() if lines},
        }

    @classmethod
    def from_dict(cls, data: dict) -> ShopState:
        """A saved state, also one of version 1 (before customers came with their
        orders; its products' initial stock is marked -1 until a batch restores it)."""
        c, p, h, k = data["customer"], data["product"], data["price_history"], data["cohorts"]
        count = _ints(k["count"])
        offset_from, offset_value = (_ints(v) for v in data["offsets"])
        if data.get("version", 1) < 2:
            p = _upgraded_products(p)
            data = {**data, "first_order": data["next_order"]}
        changes = data.get("customer_changes", {})
        return cls(
            customers=data.get("customers", 1000),
            products=data.get("products", 200),
            **{f"c_{name}": _ints(c[name]) for name in _CUSTOMER},
            **{f"o_{name}": _ints(changes.get(name, [])) for name in _OVERRIDE},
            **{f"p_{name}": _ints(p[name]) for name in _PRODUCT},
            first_order=data["first_order"],
            small_first_order=data.get("small_first_order", False),
            hour_first_k=np.cumsum(_ints(data.get("hour_first_k_steps", []))),
            owed_orders=float(data.get("owed_orders", 0.0)),
            backlog={table: from_lists(cols) for table, cols in data.get("backlog", {}).items()},
            session_rest=from_lists(data.get("session_rest", {})),
            p_rate=np.asarray(p["rate"], dtype=np.float64),
            **{f"h_{name}": _ints(h[name]) for name in _HISTORY},
            **{name: data[name] for name in _SCALARS},
            pool_ahead=_ints(data.get("pool_ahead", [])),
            offset_from=offset_from,
            offset_value=offset_value,
            cohorts=Cohorts(
                np.cumsum(_ints(k["minute_steps"])), k["first_k"] + np.cumsum(count) - count, count
            ),
            carry={table: list(lines) for table, lines in data["carry"].items()},
        )

    def pool_next(self, n: int) -> np.ndarray:
        """The next n reference pool rows in their turn (indexes: products, then
        customers), skipping those that went out ahead."""
        done = self.pool_emitted - len(self.pool_ahead)
        return self._in_turn()[done : done + n]

    def pool_out(self, index: np.ndarray) -> np.ndarray:
        """Which of these reference pool rows are out already."""
        done = self.pool_emitted - len(self.pool_ahead)
        return np.isin(index, self._in_turn()[:done]) | np.isin(index, self.pool_ahead)

    def _in_turn(self) -> np.ndarray:
        every = np.arange(self.products + self.customers, dtype=np.int64)
        return np.setdiff1d(every, self.pool_ahead) if len(self.pool_ahead) else every

    def backlog_rows(self) -> int:
        return sum(rows(cols) for cols in self.backlog.values())

    def to_json(self) -> str:
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> ShopState:
        return cls.from_dict(json.loads(text))

    # ------------------------------------------------------------ clock

    @property
    def output_end(self) -> int | None:
        """Output time (µs) where the last batch's window ended; None before the first."""
        return None if self.last_end is None else self.last_end + self.offset

    def open_window(self, window_start: int, span: int) -> tuple[int, int]:
        """The shop-clock window [lo, hi) of a batch placed at output time
        window_start: it continues where the last one ended (a later start is a pause)."""
        if self.last_end is None:
            self.origin = window_start - window_start % DAY_US
            self.last_end = self.horizon = window_start
            self.c_signup = self.c_signup + window_start
        lo = self.last_end
        if window_start - lo != self.offset or not len(self.offset_from):
            self.offset_from = np.append(self.offset_from, lo)
            self.offset_value = np.append(self.offset_value, window_start - lo)
        self.offset = window_start - lo
        return lo, lo + span

    def offset_at(self, shop_us: np.ndarray) -> np.ndarray:
        """The output-time offset that applied at each shop time."""
        if not len(self.offset_from):
            return np.zeros(len(shop_us), dtype=np.int64)
        position = np.searchsorted(self.offset_from, shop_us, side="right") - 1
        return self.offset_value[np.maximum(position, 0)]

    # ------------------------------------------------------------ customers and prices

    def eligibility(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """Per country: customer indexes and creation times, in creation order."""
        if "eligible" not in self._cache:
            order = np.argsort(self.c_country, kind="stable")
            bounds = np.searchsorted(self.c_country[order], np.arange(len(COUNTRIES) + 1))
            self._cache["eligible"] = [
                (order[bounds[c] : bounds[c + 1]], self.c_created[order[bounds[c] : bounds[c + 1]]])
                for c in range(len(COUNTRIES))
            ]
        return self._cache["eligible"]

    def customer_ids_json(self, customers: np.ndarray) -> list[str]:
        """Each customer code as a JSON value (-1, a guest: null). Customers who
        came with an order are numbered after theirs (C1000000 + order number)."""
        if "customer_json" not in self._cache:
            self._cache["customer_json"] = [
                f'"C{i:06d}"' for i in range(1, len(self.c_country) + 1)
            ] + ["null"]
        lookup, explicit = self._cache["customer_json"], len(self.c_country)
        return [
            lookup[c] if c < explicit else f'"C{BORN_ID + c - BORN:d}"' for c in customers.tolist()
        ]

    def index_hours(self, t: np.ndarray, first_k: int) -> None:
        """Orders first_k, first_k + 1, ... placed at shop times t (sorted, after
        every order indexed so far): extend the first order number of each hour."""
        if not len(t):
            return
        hours = (t - self.origin) // HOUR_US
        have = len(self.hour_first_k)
        if hours[-1] < have:
            return
        new = np.arange(have, int(hours[-1]) + 1)
        first = first_k + np.searchsorted(hours, new, side="left")
        self.hour_first_k = np.concatenate((self.hour_first_k, first)).astype(np.int64)

    def order_hours(self, k: np.ndarray) -> np.ndarray:
        """The hour (since the origin's) each indexed order was placed in."""
        return np.maximum(np.searchsorted(self.hour_first_k, k, side="right") - 1, 0)

    def prices(self, product: np.ndarray, minute: np.ndarray) -> np.ndarray:
        """The list price of each product in each minute."""
        if "history_key" not in self._cache:
            self._cache["history_key"] = self.h_product * (1 << 40) + self.h_minute
        key = self._cache["history_key"]
        return self.h_price[np.searchsorted(key, product * (1 << 40) + minute, side="right") - 1]

    def record_price(self, product: int, minute: int, price: int) -> None:
        self.h_product = np.append(self.h_product, product)
        self.h_minute = np.append(self.h_minute, minute)
        self.h_price = np.append(self.h_price, price)
        order = np.lexsort((self.h_minute, self.h_product))
        self.h_product, self.h_minute = self.h_product[order], self.h_minute[order]
        self.h_price = self.h_price[order]
        self._cache.clear()

    # ------------------------------------------------------------ bookkeeping

    def prune(self, max_life_us: int) -> None:
        """Forget cohorts whose lifecycle is over, and prices and clock offsets
        nobody can need."""
        cohorts = self.cohorts
        alive = (cohorts.minute + 1) * MINUTE_US + max_life_us >= self.horizon
        if not alive.all():
            first = int(np.argmax(alive)) if alive.any() else len(cohorts)
            self.cohorts = cohorts.take(slice(first, None))
        cohorts = self.cohorts
        oldest_us = int(cohorts.minute[0]) * MINUTE_US if len(cohorts) else self.horizon
        still = int(np.searchsorted(self.offset_from, oldest_us, side="right")) - 1
        if still > 0:
            self.offset_from, self.offset_value = (
                self.offset_from[still:],
                self.offset_value[still:],
            )
        if len(self.h_minute) > self.products:
            oldest = int(cohorts.minute[0]) if len(cohorts) else self.horizon // MINUTE_US
            old = self.h_minute <= oldest
            # Keep, per product, the last price set at or before the oldest minute.
            last_old = old & ~np.concatenate(
                ((old[1:] & (self.h_product[1:] == self.h_product[:-1])), [False])
            )
            keep = ~old | last_old
            if not keep.all():
                self.h_product, self.h_minute = self.h_product[keep], self.h_minute[keep]
                self.h_price = self.h_price[keep]
                self._cache.clear()


def _upgraded_products(p: dict) -> dict:
    """A version 1 state's products: demand per day from sales per hour, initial
    stock unknown here (-1), no purchase order open."""
    n = len(p["stock"])
    return {**p, "rate": [24 * float(x) for x in p["rate"]], "initial": [-1] * n,
            "po_qty": [0] * n, "po_at": [0] * n}  # fmt: skip
