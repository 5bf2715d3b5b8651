"""Entity events scheduled by time, independent of orders: customer and product
changes, stock adjustments, and the periodic stock checks. (Customers sign up
with their first order: see `customers`.)"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snowcart.sources.generator.catalog import (
    ADJUSTMENTS_PER_HOUR,
    CUSTOMER_CHANGES_PER_DAY,
    HOUR_US,
    MINUTE_US,
    PRICE_CHANGES_PER_DAY,
    RESTOCK_PERIOD_US,
)
from snowcart.sources.generator.clock import Rhythm
from snowcart.sources.generator.hashing import Keys, Slot


@dataclass
class Scheduled:
    """Entity events scheduled by time: customer and product changes, stock
    adjustments. `u` holds each event's own uniform draws."""

    kind: np.ndarray
    t: np.ndarray
    u: np.ndarray  # (n, 4)

    def where(self, mask: np.ndarray) -> Scheduled:
        return Scheduled(self.kind[mask], self.t[mask], self.u[mask])


SIGNUP, CUSTOMER_CHANGE, PRICE_CHANGE, STOCK_ADJUSTMENT = range(4)  # SIGNUP: no longer made


class Schedule:
    """When entity events and stock checks happen, for a seed and pool sizes."""

    def __init__(self, seed: int, keys: Keys, rhythm: Rhythm, customers: int, products: int):
        self.seed = seed
        self.keys = keys
        self.rhythm = rhythm
        self.customers = customers
        self.products = products

    def events(self, lo: int, hi: int) -> Scheduled:
        """Every scheduled entity event in [lo, hi), in time order."""
        kinds, times, draws = [], [], []
        products = self.products
        per_hour = {
            CUSTOMER_CHANGE: CUSTOMER_CHANGES_PER_DAY / 24,
            PRICE_CHANGE: PRICE_CHANGES_PER_DAY * products / 24,
            STOCK_ADJUSTMENT: ADJUSTMENTS_PER_HOUR,
        }
        if hi > lo:
            for hour in range(lo // HOUR_US, (hi - 1) // HOUR_US + 1):
                for kind, rate in per_hour.items():
                    rng = np.random.default_rng([self.seed, 10 + kind, hour])
                    count = int(rng.poisson(rate))
                    if not count:
                        continue
                    if kind == PRICE_CHANGE:  # prices change on the minute
                        t = hour * HOUR_US + np.sort(rng.integers(0, 60, count)) * MINUTE_US
                    else:
                        t = hour * HOUR_US + np.sort(rng.integers(0, HOUR_US, count))
                    u = rng.random((count, 4))
                    keep = (t >= lo) & (t < hi)
                    kinds.append(np.full(int(keep.sum()), kind))
                    times.append(t[keep])
                    draws.append(u[keep])
        if not kinds:
            return Scheduled(np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros((0, 4)))
        kind, t, u = np.concatenate(kinds), np.concatenate(times), np.concatenate(draws)
        order = np.argsort(t, kind="stable")
        return Scheduled(kind[order].astype(np.int64), t[order].astype(np.int64), u[order])

    def restock_slots(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """(times, products) of stock checks in [lo, hi), in time order."""
        if hi <= lo:
            return np.zeros(0, np.int64), np.zeros(0, np.int64)
        products = np.arange(self.products, dtype=np.int64)
        phase = (self.keys.u(Slot.RESTOCK_PHASE, products) * RESTOCK_PERIOD_US).astype(np.int64)
        periods = np.arange(lo // RESTOCK_PERIOD_US - 1, hi // RESTOCK_PERIOD_US + 1)
        t = (periods[:, None] * RESTOCK_PERIOD_US + phase[None, :]).ravel()
        p = np.broadcast_to(products, (len(periods), self.products)).ravel()
        keep = (t >= lo) & (t < hi)
        t, p = t[keep], p[keep]
        order = np.lexsort((p, t))
        return t[order], p[order]
