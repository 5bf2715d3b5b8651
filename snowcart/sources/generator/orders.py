"""Order content and outcomes: who ordered what at which price, and how each
order's lifecycle ends. Pure functions of (seed, order number, minute placed)
and the state's customers and price history."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snowcart.sources.generator.catalog import (
    CANCEL_AFTER_PAYMENT,
    CHANNEL_WEIGHTS,
    FIRST_ORDER_LINES,
    FIRST_PAYMENT_FAILS,
    HOUR_US,
    LINE_COUNT_WEIGHTS,
    METHOD_WEIGHTS,
    MINUTE_US,
    QUANTITY_WEIGHTS,
    RETURN_RATE,
    SECOND_PAYMENT_FAILS,
)
from snowcart.sources.generator.clock import Rhythm
from snowcart.sources.generator.customers import CustomerModel
from snowcart.sources.generator.hashing import Keys, Slot, cumulative, pick
from snowcart.sources.generator.reference import Reference
from snowcart.sources.generator.state import BORN, ShopState

LEGACY_CUSTOMER_POWER = 2.5  # how a version 1 state's orders drew their customers


@dataclass
class Orders:
    """Order content, per order and per order line (pure functions of k and minute)."""

    k: np.ndarray
    minute: np.ndarray
    customer: np.ndarray  # customer code (see customers), -1 for a guest
    country: np.ndarray
    channel: np.ndarray
    method: np.ndarray
    line_count: np.ndarray
    line_start: np.ndarray
    gross: np.ndarray  # cents
    discount: np.ndarray
    # per line
    line_order: np.ndarray
    line_number: np.ndarray
    product: np.ndarray
    quantity: np.ndarray
    unit_price: np.ndarray
    line_discount: np.ndarray

    @property
    def total(self) -> np.ndarray:
        return self.gross - self.discount

    @property
    def new_customer(self) -> np.ndarray:
        """Orders whose customer is created with them."""
        return self.customer == BORN + self.k


class OrderModel:
    """Order content and outcomes for a seed's keys and reference pools."""

    def __init__(self, keys: Keys, ref: Reference, rhythm: Rhythm, out_of_order_rate: float):
        self.keys = keys
        self.ref = ref
        self.people = CustomerModel(keys, ref)
        self.rhythm = rhythm
        self.products = len(ref.product_ids)
        self.out_of_order_rate = out_of_order_rate

    def customers(self, state: ShopState, k: np.ndarray, minute: np.ndarray):
        """Who placed orders k (placed in `minute`) and where they ship: (customer
        codes, countries)."""
        people = self.people
        drawn = people.drawn_country(state, k, people.days_of_minute(state, minute))
        customer = np.full(len(k), -1, dtype=np.int64)
        registered = ~people.guest(k)
        modern = registered & (k >= state.first_order)
        customer[modern] = people.walk(state, k[modern])
        country = drawn
        returning = modern & (customer != BORN + k)
        country[returning] = people.country(state, customer[returning])
        legacy = np.flatnonzero(registered & (k < state.first_order))
        if len(legacy):
            customer[legacy] = self._legacy_customers(
                state, k[legacy], minute[legacy], drawn[legacy]
            )
        return customer, country

    def _legacy_customers(self, state, k, minute, country) -> np.ndarray:
        """Orders a version 1 state placed: a customer of their country, created
        before them, early customers ordering most (as version 1 drew them)."""
        customer = np.full(len(k), -1, dtype=np.int64)
        draw = self.keys.u(Slot.CUSTOMER, k) ** LEGACY_CUSTOMER_POWER
        for c, (ids, created) in enumerate(state.eligibility()):
            rows = np.flatnonzero(country == c)
            if not len(rows) or not len(ids):
                continue
            eligible = np.searchsorted(created, minute[rows] * MINUTE_US, side="left")
            index = np.minimum(
                (eligible * draw[rows]).astype(np.int64), np.maximum(eligible - 1, 0)
            )
            found = eligible > 0
            customer[rows[found]] = ids[index[found]]
        return customer

    def content(self, state: ShopState, k: np.ndarray, minute: np.ndarray) -> Orders:
        """Who ordered what at which price, for orders k placed in `minute`."""
        k = np.asarray(k, dtype=np.int64)
        n = len(k)
        u = self.keys.u
        customer, country = self.customers(state, k, minute)
        channel, line_count = self.channel_and_lines(state, k)
        line_start = np.concatenate(([0], np.cumsum(line_count)[:-1])).astype(np.int64)
        total_lines = int(line_count.sum())
        line_order = np.repeat(np.arange(n), line_count)
        line_index = np.arange(total_lines) - line_start[line_order]
        line_key = k[line_order] * 16 + line_index
        ref = self.ref
        rank = pick(ref.popularity_cum, u(Slot.PRODUCT, line_key))
        for attempt in range(1, 6):  # one product per line of an order
            key = line_order * self.products + rank
            order = np.argsort(key, kind="stable")
            repeated = np.zeros(total_lines, dtype=bool)
            repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
            if not repeated.any():
                break
            rank = np.where(repeated, (rank + attempt) % self.products, rank)
        product = ref.popularity_order[rank]
        quantity = pick(cumulative(QUANTITY_WEIGHTS), u(Slot.QUANTITY, line_key)) + 1
        line_minute = minute[line_order]
        unit_price = state.prices(product, line_minute)
        start = minute * MINUTE_US
        promo = self.rhythm.promo((start + state.offset_at(start)) // HOUR_US)[line_order]
        has_discount = u(Slot.DISCOUNT, line_key) < np.where(promo, 0.6, 0.12)
        rate_draw = u(Slot.DISCOUNT_RATE, line_key)
        rate = np.where(
            promo,
            np.array([10, 15, 20, 30])[(rate_draw * 4).astype(np.int64)],
            np.array([5, 10, 15])[(rate_draw * 3).astype(np.int64)],
        )
        line_gross = quantity * unit_price
        line_discount = np.where(has_discount, (line_gross * rate + 50) // 100, 0)
        return Orders(
            k=k,
            minute=minute,
            customer=customer,
            country=country,
            channel=channel,
            method=pick(cumulative(METHOD_WEIGHTS), u(Slot.METHOD, k)),
            line_count=line_count,
            line_start=line_start,
            gross=np.add.reduceat(line_gross, line_start) if n else line_gross[:0],
            discount=np.add.reduceat(line_discount, line_start) if n else line_discount[:0],
            line_order=line_order,
            line_number=line_index + 1,
            product=product,
            quantity=quantity,
            unit_price=unit_price,
            line_discount=line_discount,
        )

    def channel_and_lines(self, state: ShopState, k: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Each order's channel and number of lines (a fresh shop's first order
        is a small one: see FIRST_ORDER_LINES)."""
        channel = pick(cumulative(CHANNEL_WEIGHTS), self.keys.u(Slot.CHANNEL, k))
        lines = pick(cumulative(LINE_COUNT_WEIGHTS), self.keys.u(Slot.LINES, k)) + 1
        if state.small_first_order:
            first = k == state.first_order
            lines[first] = np.minimum(lines[first], FIRST_ORDER_LINES)
        return channel, lines

    def returned_lines(self, content: Orders) -> np.ndarray:
        """Quantity returned per order line (0: kept) for orders that are returned."""
        line_key = content.k[content.line_order] * 16 + content.line_number - 1
        chosen = self.keys.u(Slot.RETURN_LINE, line_key) < 0.6
        # At least one line per order: the first if none was drawn.
        any_chosen = np.add.reduceat(chosen.astype(np.int64), content.line_start) > 0
        chosen[content.line_start[~any_chosen]] = True
        quantity = 1 + (self.keys.u(Slot.RETURN_QTY, line_key) * content.quantity).astype(np.int64)
        return np.where(chosen, np.minimum(quantity, content.quantity), 0)

    def outcomes(self, k: np.ndarray) -> dict[str, np.ndarray]:
        u = self.keys.u
        fail1 = u(Slot.FAIL1, k) < FIRST_PAYMENT_FAILS
        fail2 = fail1 & (u(Slot.FAIL2, k) < SECOND_PAYMENT_FAILS)
        cancel = ~fail2 & (u(Slot.CANCEL, k) < CANCEL_AFTER_PAYMENT)
        fulfilled = ~fail2 & ~cancel
        returned = fulfilled & (u(Slot.RETURN, k) < RETURN_RATE)
        rate = self.out_of_order_rate
        if rate > 0:
            hold_paid = (u(Slot.HOLD1, k) < rate) & (fulfilled | cancel)
            hold_shipped = fulfilled & ~hold_paid & (u(Slot.HOLD2, k) < rate)
            hold_delivered = returned & ~hold_shipped & (u(Slot.HOLD3, k) < rate)
        else:
            hold_paid = hold_shipped = hold_delivered = np.zeros(len(k), dtype=bool)
        return {
            "fail1": fail1,
            "fail2": fail2,
            "cancel": cancel,
            "fulfilled": fulfilled,
            "returned": returned,
            "hold_paid": hold_paid,
            "hold_shipped": hold_shipped,
            "hold_delivered": hold_delivered,
        }
