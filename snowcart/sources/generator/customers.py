"""Who orders: the initial customers (kept in the state, c_*) and the customers
who come with their first order.

A registered order k is a first-time customer's with probability
NEW_CUSTOMER_SHARE: that customer is created with it (code BORN + k, id
C(1000000 + k)) and its attributes are hashes of k, so nothing per customer is
kept, only the few later changes (o_*). Any other order is a returning
customer's: the customer of an earlier order, drawn back from k (`walk`); before
the shop's first order that is an initial customer. Customers with more orders
are drawn more often: most order once or twice, a few many times."""

from __future__ import annotations

import numpy as np

from snowcart.sources.generator.catalog import (
    AGE_WEIGHTS,
    DAY_US,
    GROWTH_DAYS,
    GUEST_RATE,
    HOUR_US,
    MINUTE_US,
    NEW_CUSTOMER_SHARE,
    RETURN_RECENCY,
    SEGMENT_WEIGHTS,
    SEGMENTS,
)
from snowcart.sources.generator.hashing import Keys, Slot, cumulative, pick
from snowcart.sources.generator.reference import Reference
from snowcart.sources.generator.state import BORN, ShopState

ATTRIBUTES = ("country", "region", "city", "age", "segment", "email_version", "signup")
CHANGEABLE = ("region", "city", "segment", "email_version")
MAX_STEPS = 1000  # a walk back ends at a first order or in the history (p ~ 0.4 a step)
_AGE_CUM = cumulative(AGE_WEIGHTS)
_SEGMENT_CUM = cumulative(SEGMENT_WEIGHTS)


class CustomerModel:
    def __init__(self, keys: Keys, ref: Reference) -> None:
        self.keys = keys
        self.ref = ref

    # ------------------------------------------------------------ who orders

    def guest(self, k: np.ndarray) -> np.ndarray:
        return self.keys.u(Slot.GUEST, k) < GUEST_RATE

    def is_new(self, k: np.ndarray) -> np.ndarray:
        """Orders placed by a first-time customer (created with the order)."""
        return ~self.guest(k) & (self.keys.u(Slot.NEW_CUSTOMER, k) < NEW_CUSTOMER_SHARE)

    @staticmethod
    def back(state: ShopState, upto: np.ndarray, u: np.ndarray) -> np.ndarray:
        """An earlier order (or a place in the history before the first), drawn
        back from `upto`: every earlier order can be drawn, recent ones more."""
        depth = (upto - state.first_order + state.customers) * u**RETURN_RECENCY
        return upto - 1 - depth.astype(np.int64)

    def walk(self, state: ShopState, start: np.ndarray) -> np.ndarray:
        """The customer code of each start position: an order placed by a
        first-time customer is that customer's; a returning one leads further
        back; before the first order, an initial customer."""
        start = np.asarray(start, dtype=np.int64)
        code = np.zeros(len(start), dtype=np.int64)
        first, pool = state.first_order, state.customers
        index, cur = np.arange(len(start)), start.copy()
        for _ in range(MAX_STEPS):
            history = cur < first
            code[index[history]] = (first - 1 - cur[history]) % pool
            index, cur = index[~history], cur[~history]
            new = self.is_new(cur)
            code[index[new]] = BORN + cur[new]
            index, cur = index[~new], cur[~new]
            if not len(cur):
                break
            cur = self.back(state, cur, self.keys.u(Slot.PARENT, cur))
        code[index] = cur % pool  # not reached in practice
        return code

    def returning(self, state: ShopState, upto: int, u: np.ndarray) -> np.ndarray:
        """Customers of orders before `upto`, drawn as a returning order draws
        them (for logged-in browsing sessions and customer changes)."""
        start = self.back(state, np.full(len(u), upto, dtype=np.int64), u)
        return self.walk(state, start)

    # ------------------------------------------------------------ where they live

    def drawn_country(self, state: ShopState, k: np.ndarray, days: np.ndarray) -> np.ndarray:
        """The ship country of order k placed `days` after the origin, drawn with
        the regions' growth (a first-time customer's, a guest's)."""
        ref = self.ref
        unique, inverse = np.unique(np.maximum(days, 0), return_inverse=True)
        growth = np.tanh(unique / GROWTH_DAYS)[:, None] * ref.growth[None, :]
        cum = np.cumsum(ref.base_weights[None, :] * (1 + growth), axis=1)
        cum = (cum / cum[:, -1:])[inverse]
        country = (cum < self.keys.u(Slot.COUNTRY, k)[:, None]).sum(axis=1)
        return np.minimum(country, len(ref.base_weights) - 1)

    def days_of_minute(self, state: ShopState, minute: np.ndarray) -> np.ndarray:
        return (minute * MINUTE_US - (state.origin or 0)) // DAY_US

    def country(self, state: ShopState, code: np.ndarray) -> np.ndarray:
        """Each customer's country."""
        code = np.asarray(code, dtype=np.int64)
        born = code >= BORN
        out = np.zeros(len(code), dtype=np.int64)
        out[~born] = state.c_country[code[~born]]
        if born.any():
            k = code[born] - BORN
            out[born] = self.drawn_country(state, k, state.order_hours(k) * HOUR_US // DAY_US)
        return out

    def attributes(self, state: ShopState, codes: np.ndarray) -> dict[str, np.ndarray]:
        """What customers' JSON says: country, region, city, age and segment
        (indexes), e-mail version, signup time (shop clock)."""
        codes = np.asarray(codes, dtype=np.int64)
        born = codes >= BORN
        out = {name: np.zeros(len(codes), dtype=np.int64) for name in ATTRIBUTES}
        explicit = codes[~born]
        for name in ATTRIBUTES:
            out[name][~born] = getattr(state, f"c_{name}")[explicit]
        if born.any():
            k, ref, u = codes[born] - BORN, self.ref, self.keys.u
            country = self.country(state, codes[born])
            region = ref.region_first[country] + (
                u(Slot.C_REGION, k) ** 1.6 * ref.region_count[country]
            ).astype(np.int64)
            values = {
                "country": country,
                "region": region,
                "city": ref.city_first[region]
                + (u(Slot.C_CITY, k) * ref.city_count[region]).astype(np.int64),
                "age": pick(_AGE_CUM, u(Slot.C_AGE, k)),
                "segment": pick(_SEGMENT_CUM, u(Slot.C_SEGMENT, k)),
                "email_version": np.zeros(len(k), dtype=np.int64),
                # Signed up when it first ordered (to the hour: all a state keeps).
                "signup": state.origin + state.order_hours(k) * HOUR_US,
            }
            at = np.minimum(
                np.searchsorted(state.o_code, codes[born]), max(len(state.o_code) - 1, 0)
            )
            changed = (
                np.flatnonzero(state.o_code[at] == codes[born]) if len(state.o_code) else at[:0]
            )
            for name in CHANGEABLE:
                values[name][changed] = getattr(state, f"o_{name}")[at[changed]]
            for name in ATTRIBUTES:
                out[name][born] = values[name]
        return out

    def change(self, state: ShopState, code: int, u: np.ndarray) -> None:
        """A customer moves, changes segment or e-mail address (u: 4 draws)."""
        ref = self.ref
        now = {name: int(v[0]) for name, v in self.attributes(state, np.array([code])).items()}
        if u[1] < 0.4:
            now["segment"] = (now["segment"] + 1 + int(u[2] * 3)) % len(SEGMENTS)
        elif u[1] < 0.7:
            country = now["country"]
            now["region"] = int(ref.region_first[country] + int(u[2] * ref.region_count[country]))
            region = now["region"]
            now["city"] = int(ref.city_first[region] + int(u[3] * ref.city_count[region]))
        else:
            now["email_version"] += 1
        names = CHANGEABLE
        if code < BORN:
            for name in names:
                getattr(state, f"c_{name}")[code] = now[name]
            return
        found = _override(state, code)
        if found is None:
            at = int(np.searchsorted(state.o_code, code))
            state.o_code = np.insert(state.o_code, at, code)
            for name in names:
                setattr(state, f"o_{name}", np.insert(getattr(state, f"o_{name}"), at, now[name]))
        else:
            for name in names:
                getattr(state, f"o_{name}")[found] = now[name]


def _override(state: ShopState, code: int) -> int | None:
    at = int(np.searchsorted(state.o_code, code))
    return at if at < len(state.o_code) and state.o_code[at] == code else None
