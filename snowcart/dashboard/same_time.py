"""Today against yesterday over equal windows: today so far set against
yesterday up to the same minute, not against the whole of yesterday (which
reads as −90% every morning).

"Now" is the newest order in the data (rpt_regional_sales_per_minute), not
the wall clock: a replay or a paused pipeline has its own now. A day before
the newest one is complete, and is compared with the whole day before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd

from snowcart.dashboard.filters import Where
from snowcart.engines.base import MartQuery

MINUTE_MART = "analytics.rpt_regional_sales_per_minute"
LAST_MINUTE = timedelta(days=1) - timedelta(minutes=1)
# The marts' money scale (decimal(38, 4)): sums rounded to it come out the same
# from an engine that adds decimals as doubles (fakesnow does).
MONEY_SCALE = 4
TOTALS = (
    "sum(order_count) as order_count, sum(booked_revenue) as booked_revenue,"
    " sum(net_revenue) as net_revenue, sum(margin_amount) as margin_amount"
)


@dataclass(frozen=True)
class SameTime:
    """Which part of `today` and of the day before a comparison covers."""

    today: date
    # The last minute counted on both days (orders to hh:mm:59); None = whole days.
    through: datetime | None = None
    # True when today may be partial but no minute-grain figures can window it
    # (a category filter, or the minute mart not published yet).
    whole_day_only: bool = False

    @property
    def yesterday(self) -> date:
        return self.today - timedelta(days=1)

    def minutes(self, day: date) -> tuple[datetime, datetime]:
        """First and last minute counted on `day` (today or yesterday)."""
        start = datetime.combine(day, time())
        if self.through is None:
            return start, start + LAST_MINUTE
        return start, start + (self.through - datetime.combine(self.today, time()))

    @property
    def clock(self) -> str | None:
        return None if self.through is None else f"{self.through:%H:%M}"

    @property
    def compared_with(self) -> str:
        """What a delta compares with, as the KPI cards say it."""
        if self.clock:
            return f"vs yesterday to {self.clock}"
        return "vs yesterday (whole day)" if self.whole_day_only else "vs yesterday"

    def describe(self, day: date) -> str:
        """`day` (today or yesterday) and the part of it compared."""
        return f"{day} to {self.clock}" if self.clock else f"{day}"


def newest_minute(query: MartQuery) -> datetime | None:
    """The minute of the newest order in the data, whatever the filters."""
    frame = query(f"select max(sales_minute) as newest from {MINUTE_MART}")
    if frame.empty or pd.isna(frame["newest"].iloc[0]):
        return None
    return pd.Timestamp(frame["newest"].iloc[0]).to_pydatetime()


def window_for(query: MartQuery, today: date, has_minutes: bool = True) -> SameTime:
    """The comparison for `today` (the newest date of a selection): to the newest
    minute when today is the data's newest day, else whole days. `has_minutes`
    False: the selection has no minute-grain figures (a category filter)."""
    newest = newest_minute(query)
    if newest is None:
        return SameTime(today, whole_day_only=True)
    if newest.date() != today:
        return SameTime(today)
    if not has_minutes:
        return SameTime(today, whole_day_only=True)
    return SameTime(today, through=newest)


def _totals(
    query: MartQuery,
    minutes: tuple[datetime, datetime],
    regions: Sequence[str],
    by_region: bool = False,
) -> pd.DataFrame:
    """Orders and revenue from the first to the last minute given, in `regions`
    (all if empty). Summed in SQL: exact decimals, the same from either engine."""
    where = Where().add("sales_minute >= ? and sales_minute <= ?", *minutes)
    where.add_in("region", regions)
    if not by_region:
        return query(f"select {TOTALS} from {MINUTE_MART} {where.sql()}", where.params)
    return query(
        f"select region, {TOTALS} from {MINUTE_MART} {where.sql()} group by region order by region",
        where.params,
    )


def _kpi_row(totals: pd.DataFrame) -> dict[str, float | None] | None:
    """The KPI cards' figures from one row of totals; None without a sale or refund."""
    if totals.empty or pd.isna(totals["order_count"].iloc[0]):
        return None
    row = {
        column: None if pd.isna(value) else round(float(value), MONEY_SCALE)
        for column, value in totals.iloc[0].items()
    }
    orders, booked = row["order_count"], row["booked_revenue"]
    row["average_order_value"] = booked / orders if orders and booked is not None else None
    return row


def kpi_rows(
    query: MartQuery, window: SameTime, regions: Sequence[str] = ()
) -> tuple[dict[str, float | None] | None, dict[str, float | None] | None]:
    """Today's and yesterday's KPI figures over the window, in `regions` (all if empty)."""
    return (
        _kpi_row(_totals(query, window.minutes(window.today), regions)),
        _kpi_row(_totals(query, window.minutes(window.yesterday), regions)),
    )


def regional_growth(
    query: MartQuery, window: SameTime, regions: Sequence[str] = ()
) -> pd.DataFrame:
    """Per region with sales or refunds on either day: orders and net revenue today
    and yesterday over the window, and the growth (null without a yesterday)."""
    columns = ["region", "order_count", "net_revenue"]
    today = _totals(query, window.minutes(window.today), regions, by_region=True)
    yesterday = _totals(query, window.minutes(window.yesterday), regions, by_region=True)
    if today.empty and yesterday.empty:
        return pd.DataFrame()
    frames = [
        frame[columns] if not frame.empty else pd.DataFrame(columns=columns)
        for frame in (today, yesterday)
    ]
    # A region with nothing on one of the days sold nothing then: 0, and no growth.
    both = (
        frames[0]
        .merge(frames[1], on="region", how="outer", suffixes=("", "_yesterday"))
        .fillna(0)
        .sort_values("region")
    )
    growth = pd.DataFrame(
        {
            "region": both["region"],
            "order_count": both["order_count"].astype("int64"),
            "yesterday_order_count": both["order_count_yesterday"].astype("int64"),
            "net_revenue": both["net_revenue"].astype(float).round(MONEY_SCALE),
            "yesterday_net_revenue": both["net_revenue_yesterday"].astype(float).round(MONEY_SCALE),
        }
    )
    change = growth["net_revenue"] - growth["yesterday_net_revenue"]
    before = growth["yesterday_net_revenue"].abs()
    growth["net_revenue_growth"] = change / before.where(before != 0)
    return growth.reset_index(drop=True)


PAYMENTS_MART = "analytics.rpt_payments_per_minute"


@dataclass(frozen=True)
class Rates:
    """Failure rate (failed / attempts) and refund rate (refunds / authorized)
    over one day's part of a window; None without attempts or authorizations."""

    failure_rate: float | None
    refund_rate: float | None


def _rates(query: MartQuery, minutes: tuple[datetime, datetime]) -> Rates:
    frame = query(
        "select sum(authorized_count) as authorized, sum(failed_count) as failed,"
        f" sum(refund_count) as refunds from {PAYMENTS_MART}"
        " where payment_minute >= ? and payment_minute <= ?",
        list(minutes),
    )
    if frame.empty:
        return Rates(None, None)
    authorized, failed, refunds = (
        0.0 if pd.isna(value) else float(value) for value in frame.iloc[0]
    )
    attempts = authorized + failed
    return Rates(
        failed / attempts if attempts else None,
        refunds / authorized if authorized else None,
    )


def payment_rates(query: MartQuery, window: SameTime) -> tuple[Rates, Rates]:
    """Today's and yesterday's payment rates over the window (to the same minute)."""
    return _rates(query, window.minutes(window.today)), _rates(
        query, window.minutes(window.yesterday)
    )
