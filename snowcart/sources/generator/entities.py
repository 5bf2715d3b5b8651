"""Customers and products as events: the reference pools, customers who come
with their first order, customer changes and price changes, and the JSON body
of each."""

from __future__ import annotations

import numpy as np

from snowcart.sources.generator.catalog import (
    AGE_GROUPS,
    CATEGORIES,
    INITIAL_COVER_DAYS,
    LINE_COUNT_WEIGHTS,
    MAX_STOCK,
    MIN_STOCK,
    MINUTE_US,
    ORDER_SHARE,
    QUANTITY_WEIGHTS,
    SEGMENTS,
    US,
)
from snowcart.sources.generator.clock import money, timestamps
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.customers import ATTRIBUTES
from snowcart.sources.generator.hashing import Slot, smix
from snowcart.sources.generator.schedule import CUSTOMER_CHANGE, PRICE_CHANGE, Scheduled
from snowcart.sources.generator.state import BORN, BORN_ID

MEAN_UNITS_PER_ORDER = sum((n + 1) * w for n, w in enumerate(LINE_COUNT_WEIGHTS)) * sum(
    (q + 1) * w for q, w in enumerate(QUANTITY_WEIGHTS)
)


def expected_demand(b: BatchContext) -> np.ndarray:
    """Units a day each product should sell at this batch's pace (events per
    average-second of demand): the prior of the demand estimate."""
    activity = b.shop.rhythm.activity(b.lo, b.hi) or (b.hi - b.lo) / US
    rate = b.events / max(activity, 1e-9)
    return rate * 86400 * ORDER_SHARE * MEAN_UNITS_PER_ORDER * b.shop.ref.demand_share


def apply_pool(b: BatchContext, index: np.ndarray, ahead: bool = False) -> None:
    """Reference pool rows (indexes: products, then customers), stamped at the
    window's start; `ahead`: out before their turn (the first order's)."""
    state = b.state
    if not len(index):
        return
    times = np.full(len(index), b.lo, dtype=np.int64)
    state.pool_emitted += len(index)
    if ahead:
        state.pool_ahead = np.union1d(state.pool_ahead, index).astype(np.int64)
    is_product = index < b.shop.products
    if is_product.any():
        products = index[is_product]
        # Stock for a month or so of the demand this pace brings.
        demand = expected_demand(b)[products]
        low, high = INITIAL_COVER_DAYS
        cover = low + (high - low) * b.shop.keys.u(Slot.STOCK_COVER, products)
        state.p_initial[products] = np.clip(np.round(demand * cover), MIN_STOCK, MAX_STOCK).astype(
            np.int64
        )
        state.p_stock[products] = state.p_initial[products]
        state.p_rate[products] = demand
        b.add(
            "products",
            t=times[is_product],
            etype=np.zeros(len(products), dtype=np.int64),
            body=np.array([product_body(b, int(p)) for p in products], dtype=object),
        )
    if (~is_product).any():
        customers = index[~is_product] - b.shop.products
        b.add(
            "customers",
            t=times[~is_product],
            etype=np.zeros(len(customers), dtype=np.int64),
            body=np.array(customer_bodies(b, customers), dtype=object),
        )


def orders_before(b: BatchContext, t: int) -> int:
    """An order number no order placed at or after t's minute is below."""
    cohorts = b.state.cohorts
    at = int(np.searchsorted(cohorts.minute, t // MINUTE_US, side="left"))
    return int(cohorts.first_k[at]) if at < len(cohorts) else b.orders_at_start


def apply_scheduled(b: BatchContext, s: Scheduled) -> None:
    """Customer changes and price changes, in time order (sign-ups: customers
    now come with their first order)."""
    state = b.state
    people = b.shop.orders.people
    customer_rows, product_rows = [], []
    for kind, t, u in zip(s.kind.tolist(), s.t.tolist(), s.u, strict=True):
        if kind == CUSTOMER_CHANGE:
            code = int(people.returning(state, orders_before(b, t), u[:1])[0])
            people.change(state, code, u)
            customer_rows.append((t, 1, customer_bodies(b, [code])[0]))
        elif kind == PRICE_CHANGE:
            p = min(int(u[0] * b.shop.products), b.shop.products - 1)
            if u[1] < 0.8:
                dollars = round(state.p_price[p] * (0.85 + 0.3 * u[2]) / 100)
                state.p_price[p] = max(dollars * 100 - 1, 99)
            if u[1] >= 0.6:
                state.p_cost[p] = max(round(state.p_cost[p] * (0.95 + 0.13 * u[3])), 1)
            floor = -(-state.p_cost[p] * 11 // 1000) * 100 - 1  # margin of at least ~10%
            state.p_price[p] = max(state.p_price[p], floor)
            state.record_price(p, t // MINUTE_US, int(state.p_price[p]))
            product_rows.append((t, 1, product_body(b, p)))
    for table, rows in (("customers", customer_rows), ("products", product_rows)):
        if rows:
            t, etype, body = zip(*rows, strict=True)
            b.add(
                table,
                t=np.array(t, dtype=np.int64),
                etype=np.array(etype, dtype=np.int64),
                body=np.array(body, dtype=object),
            )


def customer_bodies(b: BatchContext, codes) -> list[str]:
    """The JSON bodies of customers (codes: an initial customer's index, or BORN + k)."""
    state, ref, keys = b.state, b.shop.ref, b.shop.keys
    codes = np.asarray(codes, dtype=np.int64)
    a = b.shop.orders.people.attributes(state, codes)
    signups = timestamps(a["signup"] + state.offset)
    bodies = []
    for c, country, region, city, age, segment, version, signup in zip(
        codes.tolist(), *(a[name].tolist() for name in ATTRIBUTES[:6]), signups, strict=True
    ):
        number = c + 1 if c < BORN else BORN_ID + c - BORN
        first = smix(keys[Slot.NAME_FIRST] ^ c) % len(ref.first_names[country])
        last = smix(keys[Slot.NAME_LAST] ^ c) % len(ref.last_names[country])
        domains = ref.domains[country]
        domain = domains[smix(keys[Slot.DOMAIN] ^ (c * 64 + version)) % len(domains)]
        fa, la = ref.first_ascii[country][first], ref.last_ascii[country][last]
        email = (
            f"{fa}.{la}{number}@{domain}"
            if not version
            else f"{fa[0]}{la}{number}.{version}@{domain}"
        )
        customer_id = f"C{number:06d}" if c < BORN else f"C{number:d}"
        bodies.append(
            f'"customer_id":"{customer_id}","name":"{ref.first_names[country][first]} '
            f'{ref.last_names[country][last]}","email":"{email}",'
            f'"country_code":"{ref.country_codes[country]}","region":"{ref.region_names[region]}",'
            f'"city":"{ref.city_names[city]}","age_group":"{AGE_GROUPS[age]}",'
            f'"segment":"{SEGMENTS[segment]}","signup_at":"{signup}"'
        )
    return bodies


def product_body(b: BatchContext, p: int) -> str:
    state, ref = b.state, b.shop.ref
    cost, price = money(np.array([state.p_cost[p], state.p_price[p]]))
    return (
        f'"product_id":"{ref.product_ids[p]}","name":"{ref.product_names[p]}",'
        f'"category":"{CATEGORIES[ref.product_category[p]][0]}","unit_cost":{cost},'
        f'"list_price":{price},"initial_stock":{int(state.p_initial[p])}'
    )
