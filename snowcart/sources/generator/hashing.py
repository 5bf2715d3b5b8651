"""Counter-based hashing: every random draw of an order is a pure function of
(seed, slot, value), so any order's content can be recomputed at any time."""

from __future__ import annotations

import numpy as np

_M64 = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15


def smix(x: int) -> int:
    x &= _M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _M64
    return x ^ (x >> 31)


def key(*parts: int) -> int:
    value = 0x243F6A8885A308D3
    for part in parts:
        value = smix(value ^ smix((part & _M64) + _GOLDEN))
    return value


_NP_C1 = np.uint64(0xBF58476D1CE4E5B9)
_NP_C2 = np.uint64(0x94D049BB133111EB)
_NP_G = np.uint64(_GOLDEN)
_S30, _S27, _S31, _S11 = (np.uint64(s) for s in (30, 27, 31, 11))


def hash64(key: int, values: np.ndarray) -> np.ndarray:
    """A 64-bit hash of each value under `key` (splitmix64), vectorised."""
    x = np.asarray(values).astype(np.uint64)
    x *= _NP_G
    x += np.uint64(key)
    x ^= x >> _S30
    x *= _NP_C1
    x ^= x >> _S27
    x *= _NP_C2
    x ^= x >> _S31
    return x


def uniform(key: int, values: np.ndarray) -> np.ndarray:
    return (hash64(key, values) >> _S11).astype(np.float64) * (1.0 / (1 << 53))


def cumulative(weights) -> np.ndarray:
    """Normalised cumulative weights, for `pick`."""
    cum = np.cumsum(np.asarray(weights, dtype=np.float64))
    cum /= cum[-1]
    cum[-1] = 1.0 + 1e-12
    return cum


def pick(cum: np.ndarray, u: np.ndarray) -> np.ndarray:
    """The index each uniform draw falls on."""
    return np.searchsorted(cum, u, side="right").astype(np.int64)


class Slot:
    """Hash slots: one independent stream of draws per decision."""

    (
        GUEST, COUNTRY, CUSTOMER, CHANNEL, METHOD, LINES, PRODUCT, QUANTITY, DISCOUNT,
        DISCOUNT_RATE, FAIL1, FAIL2, CANCEL, RETURN, RETURN_LINE, RETURN_QTY, HOLD1, HOLD2,
        HOLD3, NAME_FIRST, NAME_LAST, DOMAIN, PROMO_DAY, PROMO_START, PROMO_LENGTH,
        RESTOCK_PHASE, NEW_CUSTOMER, PARENT, C_REGION, C_CITY, C_AGE, C_SEGMENT, STOCK_COVER,
        LEAD_TIME,
    ) = range(34)  # fmt: skip
    COUNT = 34
    JITTER, PERM_A, PERM_C = 100, 200, 300  # + lifecycle step group


GROUP_COUNT = 6  # lifecycle step groups (see lifecycle.GROUPS)


class Keys:
    """The hash key of each slot for a seed."""

    def __init__(self, seed: int) -> None:
        self._keys = {slot: key(seed, 7, slot) for slot in range(Slot.COUNT)}
        for group in range(GROUP_COUNT):
            for base in (Slot.JITTER, Slot.PERM_A, Slot.PERM_C):
                self._keys[base + group] = key(seed, 7, base + group)

    def __getitem__(self, slot: int) -> int:
        return self._keys[slot]

    def u(self, slot: int, values: np.ndarray) -> np.ndarray:
        """A uniform draw in [0, 1) per value, for a slot."""
        return uniform(self._keys[slot], values)

    def hash(self, slot: int, values: np.ndarray) -> np.ndarray:
        return hash64(self._keys[slot], values)
