"""Customers and products as events: the reference pools, sign-ups, customer
changes and price changes, and the JSON body of each."""

from __future__ import annotations

import math

import numpy as np

from snowcart.sources.generator.catalog import (
    AGE_GROUPS,
    AGE_WEIGHTS,
    CATEGORIES,
    DAY_US,
    GROWTH_DAYS,
    MINUTE_US,
    SEGMENTS,
)
from snowcart.sources.generator.clock import money, timestamps
from snowcart.sources.generator.context import BatchContext
from snowcart.sources.generator.hashing import Slot, cumulative, pick, smix
from snowcart.sources.generator.schedule import (
    CUSTOMER_CHANGE,
    PRICE_CHANGE,
    SIGNUP,
    Scheduled,
)


def apply_pool(b: BatchContext, times: np.ndarray) -> None:
    state = b.state
    if not len(times):
        return
    index = np.arange(state.pool_emitted, state.pool_emitted + len(times))
    state.pool_emitted += len(times)
    is_product = index < b.shop.products
    if is_product.any():
        products = index[is_product]
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
            body=np.array([customer_body(b, int(c)) for c in customers], dtype=object),
        )


def apply_scheduled(b: BatchContext, s: Scheduled) -> None:
    """Sign-ups, customer changes and price changes, in time order."""
    state, ref = b.state, b.shop.ref
    customer_rows, product_rows = [], []
    for kind, t, u in zip(s.kind.tolist(), s.t.tolist(), s.u.tolist(), strict=True):
        if kind == SIGNUP:
            weights = ref.base_weights * (
                1 + ref.growth * math.tanh(max(t - state.origin, 0) / DAY_US / GROWTH_DAYS) * 2
            )
            country = int(pick(cumulative(weights), np.array([u[0]]))[0])
            region = int(ref.region_first[country] + int(u[1] ** 1.6 * ref.region_count[country]))
            city = int(ref.city_first[region] + int(u[2] * ref.city_count[region]))
            age = int(pick(cumulative(AGE_WEIGHTS), np.array([u[3]]))[0])
            segment = 0 if u[3] < 0.85 else 1
            added = state.add_customer(t, country, region, city, age, segment)
            customer_rows.append((t, 0, customer_body(b, added)))
        elif kind == CUSTOMER_CHANGE:
            existing = int(np.searchsorted(state.c_created, t, side="left"))
            if not existing:
                continue
            c = min(int(u[0] * existing), existing - 1)
            if u[1] < 0.4:
                state.c_segment[c] = (state.c_segment[c] + 1 + int(u[2] * 3)) % len(SEGMENTS)
            elif u[1] < 0.7:
                country = state.c_country[c]
                region = ref.region_first[country] + int(u[2] * ref.region_count[country])
                state.c_region[c] = region
                state.c_city[c] = ref.city_first[region] + int(u[3] * ref.city_count[region])
            else:
                state.c_email_version[c] += 1
            customer_rows.append((t, 1, customer_body(b, c)))
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


def customer_body(b: BatchContext, c: int) -> str:
    state, ref = b.state, b.shop.ref
    country = int(state.c_country[c])
    first = smix(b.shop.keys[Slot.NAME_FIRST] ^ c) % len(ref.first_names[country])
    last = smix(b.shop.keys[Slot.NAME_LAST] ^ c) % len(ref.last_names[country])
    version = int(state.c_email_version[c])
    domains = ref.domains[country]
    domain = domains[smix(b.shop.keys[Slot.DOMAIN] ^ (c * 64 + version)) % len(domains)]
    fa, la = ref.first_ascii[country][first], ref.last_ascii[country][last]
    email = (
        f"{fa}.{la}{c + 1}@{domain}" if not version else f"{fa[0]}{la}{c + 1}.{version}@{domain}"
    )
    signup = timestamps(np.array([state.c_signup[c] + state.offset]))[0]
    return (
        f'"customer_id":"C{c + 1:06d}","name":"{ref.first_names[country][first]} '
        f'{ref.last_names[country][last]}","email":"{email}",'
        f'"country_code":"{ref.country_codes[country]}","region":"{ref.region_names[state.c_region[c]]}",'
        f'"city":"{ref.city_names[state.c_city[c]]}","age_group":"{AGE_GROUPS[state.c_age[c]]}",'
        f'"segment":"{SEGMENTS[state.c_segment[c]]}","signup_at":"{signup}"'
    )


def product_body(b: BatchContext, p: int) -> str:
    state, ref = b.state, b.shop.ref
    cost, price = money(np.array([state.p_cost[p], state.p_price[p]]))
    return (
        f'"product_id":"{ref.product_ids[p]}","name":"{ref.product_names[p]}",'
        f'"category":"{CATEGORIES[ref.product_category[p]][0]}","unit_cost":{cost},'
        f'"list_price":{price},"initial_stock":{int(ref.initial_stock[p])}'
    )
