"""The headline figures: revenue, orders, average order value and margin of the
newest order date against the day before (over the windows of
snowcart.dashboard.same_time), and how they are written."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date

import pandas as pd

from snowcart.dashboard.same_time import SameTime

KPIS = (  # key, label, column of the daily frame, is money
    ("revenue", "Net revenue", "net_revenue", True),
    ("orders", "Orders", "order_count", False),
    ("aov", "Avg order value", "average_order_value", True),
    ("margin", "Margin", "margin_amount", True),
)


@dataclass(frozen=True)
class Kpi:
    key: str  # stable id for tests and the page: kpi-<key>
    label: str
    value: float | None
    previous: float | None
    is_money: bool = True
    compared_with: str = "vs yesterday"  # what `previous` covers, e.g. "vs yesterday to 14:37"

    @property
    def change(self) -> float | None:
        """Relative change against the previous day; None without one."""
        if self.value is None or self.previous is None or self.previous == 0:
            return None
        return (self.value - self.previous) / abs(self.previous)

    @property
    def value_text(self) -> str:
        return format_value(self.value, self.is_money)

    @property
    def exact_text(self) -> str:
        return format_value(self.value, self.is_money, compact=False)

    @property
    def delta_text(self) -> str | None:
        return None if self.change is None else f"{self.change:+.1%} {self.compared_with}"


@dataclass(frozen=True)
class KpiSet:
    today: date | None  # the newest order date in the selection
    yesterday: date | None
    has_yesterday: bool
    kpis: tuple[Kpi, ...]
    margin_rate: float | None = None
    window: SameTime | None = None  # the part of today and yesterday compared


def number(value: object) -> float | None:
    """A plain float, or None for SQL null / NaN."""
    return None if value is None or pd.isna(value) else float(value)


# From a million on, a card shows three significant figures ($3.27M): every
# digit and the cents ($3,272,913.55) no longer fit a card at 1400 px. The
# exact figure is in the card's help.
COMPACT_FROM = 1_000_000
SCALES = ((1e12, "T"), (1e9, "B"), (1e6, "M"))


def format_value(value: float | None, is_money: bool = True, compact: bool = True) -> str:
    if value is None or math.isnan(value):
        return "—"
    sign, size = ("-" if value < 0 else ""), abs(value)
    if compact and size >= COMPACT_FROM:
        scale, suffix = next((scale, suffix) for scale, suffix in SCALES if size >= scale)
        text = f"{size / scale:,.2f}{suffix}"
    else:
        text = f"{size:,.2f}" if is_money else f"{size:,.0f}"
    return f"{sign}${text}" if is_money else f"{sign}{text}"


def safe_ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0."""
    return numerator / denominator.where(denominator != 0)


def kpis_from_rows(
    window: SameTime,
    current: Mapping[str, object] | None,
    previous: Mapping[str, object] | None,
) -> KpiSet:
    """The cards from today's figures and yesterday's over the same window (None:
    no orders then), keyed by the columns of KPIS."""
    current = {} if current is None else current
    kpis = tuple(
        Kpi(
            key,
            label,
            number(current.get(column)),
            None if previous is None else number(previous[column]),
            is_money,
            window.compared_with,
        )
        for key, label, column, is_money in KPIS
    )
    net, margin = number(current.get("net_revenue")), number(current.get("margin_amount"))
    margin_rate = margin / net if net and margin is not None else None
    return KpiSet(window.today, window.yesterday, previous is not None, kpis, margin_rate, window)


def kpis_from_daily(daily: pd.DataFrame, window: SameTime | None = None) -> KpiSet:
    """Revenue, orders, AOV and margin of the newest order date against the whole
    day before (`window` says whether today may be partial)."""
    if daily.empty:
        empty = tuple(Kpi(key, label, None, None, is_money) for key, label, _, is_money in KPIS)
        return KpiSet(today=None, yesterday=None, has_yesterday=False, kpis=empty)
    by_date = daily.set_index(daily["order_date"].dt.date)
    window = window or SameTime(max(by_date.index), whole_day_only=True)
    current = by_date.loc[window.today]
    previous = by_date.loc[window.yesterday] if window.yesterday in by_date.index else None
    return kpis_from_rows(window, current, previous)
