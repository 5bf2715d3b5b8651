"""The headline figures: revenue, orders, average order value and margin of the
newest order date against the day before, and how they are written."""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd

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
    def delta_text(self) -> str | None:
        return None if self.change is None else f"{self.change:+.1%} vs yesterday"


@dataclass(frozen=True)
class KpiSet:
    today: date | None  # the newest order date in the selection
    yesterday: date | None
    has_yesterday: bool
    kpis: tuple[Kpi, ...]
    margin_rate: float | None = None


def number(value: object) -> float | None:
    """A plain float, or None for SQL null / NaN."""
    return None if value is None or pd.isna(value) else float(value)


def format_value(value: float | None, is_money: bool = True) -> str:
    if value is None or math.isnan(value):
        return "—"
    return f"${value:,.2f}" if is_money else f"{value:,.0f}"


def safe_ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0."""
    return numerator / denominator.where(denominator != 0)


def kpis_from_daily(daily: pd.DataFrame) -> KpiSet:
    """Revenue, orders, AOV and margin of the newest order date against the day before."""
    if daily.empty:
        empty = tuple(Kpi(key, label, None, None, is_money) for key, label, _, is_money in KPIS)
        return KpiSet(today=None, yesterday=None, has_yesterday=False, kpis=empty)
    by_date = daily.set_index(daily["order_date"].dt.date)
    today = max(by_date.index)
    yesterday = today - timedelta(days=1)
    current = by_date.loc[today]
    previous = by_date.loc[yesterday] if yesterday in by_date.index else None
    kpis = tuple(
        Kpi(
            key,
            label,
            number(current[column]),
            None if previous is None else number(previous[column]),
            is_money,
        )
        for key, label, column, is_money in KPIS
    )
    net, margin = number(current["net_revenue"]), number(current["margin_amount"])
    margin_rate = margin / net if net and margin is not None else None
    return KpiSet(today, yesterday, previous is not None, kpis, margin_rate)
