"""Order lifecycles: payment retries, cancellations, shipping, delivery, returns.

Instead of keeping every open order, the state keeps one cohort per minute of
orders; within a cohort the k-th fastest order for a step is found through an
affine permutation, so the events due in any window are enumerated directly."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from snowcart.sources.generator.catalog import MINUTE_US, US
from snowcart.sources.generator.hashing import Keys, Slot
from snowcart.sources.generator.orders import OrderModel
from snowcart.sources.generator.state import Cohorts, ShopState


@dataclass(frozen=True)
class Delay:
    """Delay after the end of an order's minute, as quantiles: (probability, seconds)."""

    probs: tuple[float, ...]
    seconds: tuple[float, ...]

    @property
    def log_seconds(self) -> np.ndarray:
        return np.log(np.asarray(self.seconds))

    def quantile_us(self, p: np.ndarray) -> np.ndarray:
        return (np.exp(np.interp(p, self.probs, self.log_seconds)) * US).astype(np.int64)

    def cdf(self, delay_us: np.ndarray) -> np.ndarray:
        seconds = np.maximum(delay_us / US, 1e-9)
        return np.interp(np.log(seconds), self.log_seconds, self.probs)

    @property
    def min_us(self) -> int:
        return int(self.seconds[0] * US)

    @property
    def max_us(self) -> int:
        return int(self.seconds[-1] * US) + 1


# Lifecycle step groups. Supports do not overlap, so each order's steps come in
# lifecycle order whatever its random draws.
PAY1, PAY2, CANCEL_STEP, SHIP, DELIVER, RETURN_STEP = range(6)
GROUPS = (
    Delay((0, 0.5, 0.9, 1), (0.2, 3, 10, 25)),  # first payment attempt
    Delay((0, 0.5, 0.9, 1), (30, 70, 180, 360)),  # retry after a failed attempt
    Delay((0, 0.5, 1), (480, 1200, 3000)),  # customer cancels a paid order
    Delay((0, 0.5, 0.9, 1), (3300, 7200, 12600, 18000)),  # shipped
    Delay((0, 0.5, 0.9, 1), (21600, 43200, 79200, 108000)),  # delivered
    Delay((0, 0.5, 1), (115200, 180000, 345600)),  # returned
)
GROUP_MAX_OFFSET_US = (US // 4, US, 2 * US, US // 2, 0, 3 * US)
MAX_LIFE_US = max(g.max_us + o for g, o in zip(GROUPS, GROUP_MAX_OFFSET_US, strict=True))
EARLIEST_STEP_US = GROUPS[PAY2].min_us  # no lifecycle step of a cohort comes sooner
PRIMES = (1000000007, 1000000009, 1000000021, 1000000033, 1000000087, 1000000093, 1000000097,
          1000000103)  # fmt: skip


# Lifecycle streams: events of one step group, each at an offset after the step.
(
    FAIL2, PF_CANCEL, AUTH2, PAID2, CANCEL, CANCEL_REFUND, SHIP_STATUS, SALE_MOVES,
    DELIVER_STATUS, RETURN_EVENT, RETURN_STATUS, RETURN_REFUND, RETURN_MOVES,
) = range(13)  # fmt: skip
# The first payment attempt (and "paid") comes with the order, seconds after it:
# PAY1 has no stream here (see rows.emit_orders).
STREAMS = {
    PAY1: (),
    PAY2: ((FAIL2, 0), (PF_CANCEL, US), (AUTH2, 0), (PAID2, US // 4)),
    CANCEL_STEP: ((CANCEL, 0), (CANCEL_REFUND, 2 * US)),
    SHIP: ((SHIP_STATUS, 0), (SALE_MOVES, US // 2)),
    DELIVER: ((DELIVER_STATUS, 0),),
    RETURN_STEP: (
        (RETURN_EVENT, 0),
        (RETURN_STATUS, US),
        (RETURN_REFUND, 2 * US),
        (RETURN_MOVES, 3 * US),
    ),
}


@dataclass
class Due:
    """Lifecycle events due in a window: one row per (order, stream)."""

    t: np.ndarray
    k: np.ndarray
    minute: np.ndarray
    stream: np.ndarray
    pred_t: np.ndarray  # time of a held-back predecessor status emitted with it, or -1
    lines: np.ndarray

    @classmethod
    def empty(cls) -> Due:
        return cls(*(np.zeros(0, dtype=np.int64) for _ in range(6)))

    @classmethod
    def concat(cls, parts: list[Due]) -> Due:
        parts = [p for p in parts if len(p.t)]
        if not parts:
            return cls.empty()
        return cls(
            *(np.concatenate([getattr(p, f) for p in parts]) for f in cls.__dataclass_fields__)
        )

    def where(self, mask: np.ndarray) -> Due:
        return Due(*(getattr(self, f)[mask] for f in self.__dataclass_fields__))

    @property
    def line_total(self) -> int:
        return int(self.lines.sum())


class Lifecycle:
    """The lifecycle events of cohorts of orders, for a seed's keys."""

    def __init__(self, keys: Keys, orders: OrderModel) -> None:
        self.keys = keys
        self.orders = orders

    def _permutation(
        self, group: int, minute: np.ndarray, count: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        """Affine permutation rank -> order offset of each cohort: (a, c)."""
        a = np.asarray(PRIMES, dtype=np.int64)[
            (self.keys.hash(Slot.PERM_A + group, minute) % np.uint64(len(PRIMES))).astype(np.int64)
        ]
        c = (self.keys.hash(Slot.PERM_C + group, minute) >> np.uint64(2)).astype(
            np.int64
        ) % np.maximum(count, 1)
        return a, c

    def _step_time(
        self, cohorts: Cohorts, group: int, offset_us: int, k: np.ndarray, minute: np.ndarray
    ) -> np.ndarray:
        """When order k (placed in `minute`) reaches a step: the inverse of the
        enumeration in due, for a predecessor status emitted late."""
        if not len(k):
            return np.zeros(0, dtype=np.int64)
        end = (minute + 1) * MINUTE_US
        jitter = self.keys.u(Slot.JITTER + group, k)
        if group == PAY1:  # paid came with the order: any time before the next step will do
            return end + GROUPS[PAY1].quantile_us(jitter) + offset_us
        cohort = np.searchsorted(cohorts.minute, minute)
        first, count = cohorts.first_k[cohort], cohorts.count[cohort]
        a, c = self._permutation(group, minute, count)
        inverse = np.array([pow(int(x), -1, int(n)) for x, n in zip(a, count, strict=True)])
        rank = ((k - first - c) % count) * inverse % count
        return end + GROUPS[group].quantile_us((rank + jitter) / count) + offset_us

    def due(self, state: ShopState, cohorts: Cohorts, lo: int, hi: int) -> Due:
        """Every lifecycle event of these cohorts' orders with a time in [lo, hi)."""
        if not len(cohorts) or hi <= lo:
            return Due.empty()
        end_all = (cohorts.minute + 1) * MINUTE_US
        found = []
        for group, delay in enumerate(GROUPS):
            if not STREAMS[group]:
                continue
            offset = GROUP_MAX_OFFSET_US[group]
            relevant = np.flatnonzero(
                (end_all + delay.min_us < hi)
                & (end_all + delay.max_us + offset >= lo)
                & (cohorts.count > 0)
            )
            if not len(relevant):
                continue
            end = end_all[relevant]
            count = cohorts.count[relevant]
            minute = cohorts.minute[relevant]
            first = np.clip(np.floor(count * delay.cdf(lo - offset - end)) - 1, 0, count)
            last = np.clip(np.ceil(count * delay.cdf(hi - end)) + 1, 0, count)
            first, last = first.astype(np.int64), last.astype(np.int64)
            n_ranks = np.maximum(last - first, 0)
            total = int(n_ranks.sum())
            if not total:
                continue
            which = np.repeat(np.arange(len(relevant)), n_ranks)
            rank = (
                first[which] + np.arange(total) - np.repeat(np.cumsum(n_ranks) - n_ranks, n_ranks)
            )
            a, c = self._permutation(group, minute, count)
            n = count[which]
            k = cohorts.first_k[relevant][which] + (a[which] * rank + c[which]) % n
            k_minute = minute[which]
            base = end[which] + delay.quantile_us((rank + self.keys.u(Slot.JITTER + group, k)) / n)
            o = self.orders.outcomes(k)
            for stream, stream_offset in STREAMS[group]:
                t = base + stream_offset
                mask = (t >= lo) & (t < hi) & self._stream_mask(stream, o)
                if not mask.any():
                    continue
                ks, minutes, ts = k[mask], k_minute[mask], t[mask]
                lines = np.ones(len(ks), dtype=np.int64)
                pred_t = np.full(len(ks), -1, dtype=np.int64)
                held = self._held_predecessor(stream, {name: v[mask] for name, v in o.items()})
                if held is not None and held[0].any():
                    rows, group_of, pred_offset = held
                    lines[rows] = 2
                    for pred_group in np.unique(group_of[rows]):
                        sel = np.flatnonzero(rows & (group_of == pred_group))
                        pred_t[sel] = self._step_time(
                            cohorts, int(pred_group), pred_offset, ks[sel], minutes[sel]
                        )
                if stream == SALE_MOVES:
                    lines = self.orders.channel_and_lines(state, ks)[1]
                elif stream == RETURN_MOVES:
                    content = self.orders.content(state, ks, minutes)
                    returned = self.orders.returned_lines(content) > 0
                    lines = np.add.reduceat(returned.astype(np.int64), content.line_start)
                found.append(
                    Due(ts, ks, minutes, np.full(len(ks), stream, dtype=np.int64), pred_t, lines)
                )
        return Due.concat(found)

    @staticmethod
    def _stream_mask(stream: int, o: dict[str, np.ndarray]) -> np.ndarray:
        f1, f2, fulfilled, returned = o["fail1"], o["fail2"], o["fulfilled"], o["returned"]
        return {
            FAIL2: f2,
            PF_CANCEL: f2,
            AUTH2: f1 & ~f2,
            PAID2: f1 & ~f2 & ~o["hold_paid"],
            CANCEL: o["cancel"],
            CANCEL_REFUND: o["cancel"],
            SHIP_STATUS: fulfilled & ~o["hold_shipped"],
            SALE_MOVES: fulfilled,
            DELIVER_STATUS: fulfilled & ~o["hold_delivered"],
            RETURN_EVENT: returned,
            RETURN_STATUS: returned,
            RETURN_REFUND: returned,
            RETURN_MOVES: returned,
        }[stream]

    @staticmethod
    def _held_predecessor(stream: int, o: dict[str, np.ndarray]):
        """Rows of a follower status that carry their held-back predecessor:
        (rows, predecessor group per row, predecessor offset)."""
        if stream in (SHIP_STATUS, CANCEL):
            group_of = np.where(o["fail1"], PAY2, PAY1)
            return o["hold_paid"], group_of, US // 4
        if stream == DELIVER_STATUS:
            return o["hold_shipped"], np.full(len(o["fail1"]), SHIP), 0
        if stream == RETURN_STATUS:
            return o["hold_delivered"], np.full(len(o["fail1"]), DELIVER), 0
        return None
