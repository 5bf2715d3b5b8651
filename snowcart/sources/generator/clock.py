"""Time: microseconds on the shop clock, timestamps and money as JSON text, and
the shape of demand (daily and weekly rhythm, promotions) over output time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from snowcart.sources.generator.catalog import (
    EPOCH,
    HOUR_US,
    HOURLY_PROFILE,
    PROMO_FACTOR,
    US,
    WEEK_MEAN,
    WEEKEND_FACTOR,
)
from snowcart.sources.generator.hashing import Keys, Slot


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch; naive datetimes are UTC."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return (moment - EPOCH) // timedelta(microseconds=1)


def timestamps(us: np.ndarray) -> list[str]:
    return np.datetime_as_string(
        np.asarray(us, dtype=np.int64).astype("M8[us]"), unit="us"
    ).tolist()


_CENTS = [f"{c:02d}" for c in range(100)]


def money(cents: np.ndarray) -> list[str]:
    cents = np.asarray(cents, dtype=np.int64)
    dollars, rest = np.divmod(cents, 100)
    return [f"{d}.{_CENTS[r]}" for d, r in zip(dollars.tolist(), rest.tolist(), strict=True)]


def dollars(cents) -> float:
    return round(int(cents) / 100, 2)


class Rhythm:
    """Relative demand per hour of output (wall-clock) time, for a seed's promotions."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys

    def promo(self, hours: np.ndarray) -> np.ndarray:
        """Promotion hours: on about a third of days, a 2-5 hour campaign from 09-18h."""
        hours = np.asarray(hours, dtype=np.int64)
        day = hours // 24
        u = self.keys.u
        start = 9 + (u(Slot.PROMO_START, day) * 10).astype(np.int64)
        length = 2 + (u(Slot.PROMO_LENGTH, day) * 4).astype(np.int64)
        hour_of_day = hours % 24
        return (
            (u(Slot.PROMO_DAY, day) < 0.35)
            & (hour_of_day >= start)
            & (hour_of_day < start + length)
        )

    def hour_weight(self, hours: np.ndarray) -> np.ndarray:
        hours = np.asarray(hours, dtype=np.int64)
        weekday = (hours // 24 + 3) % 7  # 1970-01-01 was a Thursday; Monday = 0
        weight = np.asarray(HOURLY_PROFILE)[hours % 24] / WEEK_MEAN
        weight = weight * np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)
        return weight * np.where(self.promo(hours), PROMO_FACTOR, 1.0)

    def mass(self, lo: int, hi: int) -> tuple[np.ndarray, np.ndarray]:
        """Cumulative demand over [lo, hi) at hour boundaries: (times, cumulative)."""
        hours = np.arange(lo // HOUR_US, (hi - 1) // HOUR_US + 1, dtype=np.int64)
        bounds = np.concatenate(([lo], np.clip(hours[1:] * HOUR_US, lo, hi), [hi]))
        mass = np.diff(bounds) / US * self.hour_weight(hours)
        return bounds, np.concatenate(([0.0], np.cumsum(mass)))

    def activity(self, lo: int, hi: int) -> float:
        """Expected demand in [lo, hi), in average-seconds (a week is ~604,800)."""
        if hi <= lo:
            return 0.0
        return float(self.mass(lo, hi)[1][-1])

    def times(self, rng: np.random.Generator, n: int, lo: int, hi: int, offset: int) -> np.ndarray:
        """n sorted shop times in [lo, hi) following the rhythm of output time
        (= shop time + offset)."""
        if n <= 0:
            return np.zeros(0, dtype=np.int64)
        bounds, cum = self.mass(lo + offset, hi + offset)
        u = np.sort(rng.random(n)) * cum[-1]
        times = np.interp(u, cum, bounds.astype(np.float64)).astype(np.int64) - offset
        return np.clip(times, lo, hi - 1)
