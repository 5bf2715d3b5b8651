"""What the dashboard shows: every figure and table as a pandas DataFrame, read
from the report marts and filtered by date range, region and category.

The engine's reader (`snowcart.engines`: the DuckDB serving layer, or the
dynamic tables in Snowflake) answers the same SQL through `MartQuery`;
`DashboardData` holds the queries, so the Streamlit app (dashboard/app.py)
only lays the results out.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta

import pandas as pd

from snowcart.dashboard import same_time
from snowcart.dashboard.explore import Explorer
from snowcart.dashboard.filters import DateWindow, Filters, Where, filter_where
from snowcart.dashboard.funnel import funnel
from snowcart.dashboard.health import pipeline_health
from snowcart.dashboard.kpis import KpiSet, kpis_from_daily, kpis_from_rows, safe_ratio
from snowcart.dashboard.same_time import SameTime
from snowcart.engines import engine_for
from snowcart.engines.base import MartQuery, MartReader
from snowcart.settings import Settings

TREND_DAYS = 30
LIVE_MINUTES = 60
TOP_PRODUCTS = 5
TOP_CUSTOMERS = 10
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def reader_for(target: str | None = None, home: str | os.PathLike | None = None) -> MartReader:
    """The marts of a target, resolved like every snowcart command but creating
    nothing: a dashboard only reads."""
    return engine_for(Settings.locate(target, home)).open_reader()


class DashboardData:
    """Every query of one refresh, over one publication, with one set of filters."""

    def __init__(
        self,
        query: MartQuery,
        filters: Filters | None = None,
        has_ops_tables: bool = True,
        now: datetime | None = None,
        catalog: Callable[[MartQuery], pd.DataFrame] | None = None,
    ) -> None:
        self.query = query
        self.filters = filters or Filters()
        self.has_ops_tables = has_ops_tables
        # The reader's catalog of published marts (MartReader.mart_catalog).
        self.catalog = catalog
        self.now = now or datetime.now(UTC).replace(tzinfo=None)
        self._window: DateWindow | None = None
        self._daily: pd.DataFrame | None = None

    # ---- state and filter choices

    def newest_order_date(self) -> date | None:
        frame = self.query("select max(order_date) as newest from analytics.rpt_daily_sales")
        if frame.empty or pd.isna(frame["newest"].iloc[0]):
            return None
        return pd.Timestamp(frame["newest"].iloc[0]).date()

    def loading_message(self) -> str | None:
        """A message while the marts hold no orders yet, else None."""
        if self.newest_order_date() is None:
            return (
                "Still loading: the serving layer is published but holds no orders yet. "
                "This page refreshes on its own."
            )
        return None

    def filter_options(self) -> dict[str, object]:
        """Regions, categories and the date bounds the sidebar offers."""
        cells = "analytics.rpt_daily_sales_by_region_category"
        regions = self.query(f"select distinct region from {cells} order by region")
        categories = self.query(f"select distinct category from {cells} order by category")
        bounds = self.query(
            "select min(order_date) as first_date, max(order_date) as last_date"
            " from analytics.rpt_daily_sales"
        )
        first = last = None
        if not bounds.empty and not pd.isna(bounds["last_date"].iloc[0]):
            first = pd.Timestamp(bounds["first_date"].iloc[0]).date()
            last = pd.Timestamp(bounds["last_date"].iloc[0]).date()
        return {
            "regions": [] if regions.empty else regions["region"].tolist(),
            "categories": [] if categories.empty else categories["category"].tolist(),
            "first_date": first,
            "last_date": last,
        }

    @property
    def window(self) -> DateWindow:
        if self._window is None:
            if self.filters.last_days:
                newest = self.newest_order_date()
                start = None if newest is None else newest - timedelta(self.filters.last_days - 1)
                self._window = DateWindow(start, newest)
            else:
                self._window = DateWindow(self.filters.start_date, self.filters.end_date)
        return self._window

    def _where(
        self,
        date_column: str | None = None,
        region_column: str | None = None,
        category_column: str | None = None,
        month_column: str | None = None,
    ) -> Where:
        return filter_where(
            self.filters, self.window, date_column, region_column, category_column, month_column
        )

    # ---- Overview

    def daily_sales(self) -> pd.DataFrame:
        """Per order date: orders, net and booked revenue, AOV, margin.

        Unfiltered by region and category it is rpt_daily_sales itself; with
        those filters it sums rpt_daily_sales_by_region_category, where an
        order spanning two categories counts in both."""
        if self._daily is None:
            self._daily = self._query_daily_sales()
        return self._daily.copy()

    def _query_daily_sales(self) -> pd.DataFrame:
        if not self.filters.slices_orders:
            where = self._where(date_column="order_date")
            return self.query(
                "select order_date, order_count, net_revenue, booked_revenue,"
                " average_order_value, margin_amount, margin_rate"
                f" from analytics.rpt_daily_sales {where.sql()} order by order_date",
                where.params,
            )
        where = self._where("order_date", "region", "category")
        daily = self.query(
            "select order_date, sum(order_count) as order_count,"
            " sum(net_revenue) as net_revenue, sum(booked_revenue) as booked_revenue,"
            " sum(margin_amount) as margin_amount"
            f" from analytics.rpt_daily_sales_by_region_category {where.sql()}"
            " group by order_date order by order_date",
            where.params,
        )
        if daily.empty:
            return daily
        daily["average_order_value"] = safe_ratio(daily["booked_revenue"], daily["order_count"])
        daily["margin_rate"] = safe_ratio(daily["margin_amount"], daily["net_revenue"])
        return daily

    def kpis(self) -> KpiSet:
        """The newest order date of the selection so far against the day before
        up to the same minute (same_time); whole days when that day is complete,
        or when a category filter leaves no minute-grain figures."""
        daily = self.daily_sales()
        if daily.empty:
            return kpis_from_daily(daily)
        today = daily["order_date"].max().date()
        window = same_time.window_for(self.query, today, has_minutes=not self.filters.categories)
        if window.through is None:
            return kpis_from_daily(daily, window)
        return kpis_from_rows(window, *same_time.kpi_rows(self.query, window, self.filters.regions))

    def revenue_trend(self, days: int = TREND_DAYS) -> pd.DataFrame:
        """Net revenue, margin and orders for the last `days` days up to the newest
        order date (from the first day with orders), days without orders as zero."""
        daily = self.daily_sales()
        if daily.empty:
            return daily
        end = daily["order_date"].max()
        start = max(end - pd.Timedelta(days=days - 1), daily["order_date"].min())
        calendar = pd.date_range(start, end, freq="D")
        trend = (
            daily.set_index("order_date")[["net_revenue", "margin_amount", "order_count"]]
            .reindex(calendar, fill_value=0)
            .rename_axis("order_date")
            .reset_index()
        )
        return trend

    def sales_per_minute(self, minutes: int = LIVE_MINUTES) -> pd.DataFrame:
        """The live view: orders and revenue per minute over the newest hour."""
        where = Where()
        if self.window.end:
            where.add(
                "sales_minute < ?",
                datetime.combine(self.window.end + timedelta(1), datetime.min.time()),
            )
        newest = self.query(
            f"select max(sales_minute) as newest from analytics.rpt_sales_per_minute {where.sql()}",
            where.params,
        )
        if newest.empty or pd.isna(newest["newest"].iloc[0]):
            return pd.DataFrame()
        end = pd.Timestamp(newest["newest"].iloc[0])
        start = end - pd.Timedelta(minutes=minutes - 1)
        live = self.query(
            "select sales_minute, order_count, booked_revenue, net_revenue"
            " from analytics.rpt_sales_per_minute"
            " where sales_minute >= ? and sales_minute <= ? order by sales_minute",
            [start.to_pydatetime(), end.to_pydatetime()],
        )
        calendar = pd.date_range(start, end, freq="min")
        return (
            live.set_index("sales_minute")
            .reindex(calendar, fill_value=0)
            .rename_axis("sales_minute")
            .reset_index()
        )

    def live_freshness(self) -> dict[str, object]:
        """Newest order the live mart shows and how long ago that was (both engines)."""
        frame = self.query(
            "select max(newest_ordered_at) as newest from analytics.rpt_sales_per_minute"
        )
        if frame.empty or pd.isna(frame["newest"].iloc[0]):
            return {"newest_ordered_at": None, "lag_s": None}
        newest = pd.Timestamp(frame["newest"].iloc[0]).to_pydatetime()
        return {"newest_ordered_at": newest, "lag_s": (self.now - newest).total_seconds()}

    # ---- Customers

    def _customer_region_filter(self, customer_column: str = "customer_id") -> Where:
        """Customers by their current country's region (dim_geography)."""
        where = Where()
        if self.filters.regions:
            placeholders = ", ".join("?" for _ in self.filters.regions)
            where.add(
                f"{customer_column} in (select customer_id from analytics.rpt_customer_segments"
                " where country_code in (select country_code from analytics.dim_geography"
                f" where region in ({placeholders})))",
                *self.filters.regions,
            )
        return where

    def customers(self) -> dict[str, pd.DataFrame]:
        where = self._customer_region_filter()
        segments = "analytics.rpt_customer_segments"
        top = self.query(
            "select customer_id, customer_name, country_code, age_group, rfm_segment,"
            " order_count, net_revenue, last_ordered_at"
            f" from {segments} {where.sql()}"
            f" order by net_revenue desc, customer_id limit {TOP_CUSTOMERS}",
            where.params,
        )
        by_segment = self.query(
            "select rfm_segment, count(*) as customer_count, sum(net_revenue) as net_revenue"
            f" from {segments} {where.sql()} group by rfm_segment order by net_revenue desc",
            where.params,
        )
        by_age = self.query(
            "select age_group, count(*) as customer_count, sum(net_revenue) as net_revenue,"
            " avg(net_revenue) as net_revenue_per_customer"
            f" from {segments} {where.sql()} group by age_group order by age_group",
            where.params,
        )
        repeat = self.query(
            "select is_repeat_customer, count(*) as customer_count,"
            " sum(net_revenue) as net_revenue"
            f" from {segments} {where.sql()} group by is_repeat_customer",
            where.params,
        )
        if not repeat.empty:
            repeat["customers"] = repeat["is_repeat_customer"].map(
                {True: "Repeat", False: "One order"}
            )
        repeat_30 = self.query(
            "select repeat_rank, customer_id, customer_name, order_count_30_days,"
            " net_revenue_30_days from analytics.rpt_repeat_customers_30_days"
            f" {where.sql()} order by repeat_rank limit {TOP_CUSTOMERS}",
            where.params,
        )
        multi_region = self.query(
            "select count(*) as customer_count from analytics.rpt_multi_region_customers"
            f" {where.sql()}",
            where.params,
        )
        return {
            "top_customers": top,
            "segments": by_segment,
            "age_groups": by_age,
            "repeat": repeat,
            "repeat_30_days": repeat_30,
            "multi_region": multi_region,
        }

    # ---- Products

    def products(self) -> dict[str, pd.DataFrame]:
        where = self._where(category_column="performance.category")
        top_products = self.query(
            "select performance.product_id, performance.product_name, performance.category,"
            " performance.units_sold, quantities.units_returned, performance.net_revenue,"
            " performance.margin_amount, performance.margin_rate"
            " from analytics.rpt_product_performance as performance"
            " left join analytics.rpt_product_quantity_sold as quantities"
            " on performance.product_id = quantities.product_id"
            f" {where.sql()}"
            f" order by performance.net_revenue desc, performance.product_id limit {TOP_PRODUCTS}",
            where.params,
        )
        categories = self.category_sales()
        return {
            "top_products": top_products,
            "top_categories": categories.head(TOP_PRODUCTS),
            "categories": categories,
        }

    def category_sales(self) -> pd.DataFrame:
        """Revenue and margin per category within every filter."""
        where = self._where("order_date", "region", "category")
        frame = self.query(
            "select category, sum(units_sold) as units_sold, sum(net_revenue) as net_revenue,"
            " sum(margin_amount) as margin_amount"
            f" from analytics.rpt_daily_sales_by_region_category {where.sql()}"
            " group by category order by net_revenue desc, category",
            where.params,
        )
        if not frame.empty:
            frame["margin_rate"] = safe_ratio(frame["margin_amount"], frame["net_revenue"])
        return frame

    # ---- Sales trends

    def hourly_heatmap(self) -> pd.DataFrame:
        """Net revenue by weekday (rows, Monday first) and hour of day (columns 0–23)."""
        where = Where()
        if self.window.start:
            where.add("dates.date_day >= ?", self.window.start)
        if self.window.end:
            where.add("dates.date_day <= ?", self.window.end)
        cells = self.query(
            "select dates.day_name, extract(hour from minutes.sales_minute) as order_hour,"
            " sum(minutes.net_revenue) as net_revenue"
            " from analytics.rpt_sales_per_minute as minutes"
            " inner join analytics.dim_dates as dates"
            " on cast(minutes.sales_minute as date) = dates.date_day"
            f" {where.sql()} group by dates.day_name, order_hour",
            where.params,
        )
        grid = pd.DataFrame(0.0, index=list(WEEKDAYS), columns=list(range(24)))
        for row in cells.itertuples(index=False):
            grid.loc[row.day_name, int(row.order_hour)] = float(row.net_revenue)
        grid.index.name = "weekday"
        return grid

    def monthly_sales(self) -> pd.DataFrame:
        where = self._where(
            region_column="region", category_column="category", month_column="sales_month"
        )
        return self.query(
            "select sales_month, category, region, order_count, units_sold, net_revenue"
            f" from analytics.rpt_monthly_sales_by_category_region {where.sql()}"
            " order by sales_month, category, region",
            where.params,
        )

    def regional_sales(self) -> pd.DataFrame:
        """Net revenue and orders per region and day (the newest day: so far)."""
        where = self._where(date_column="order_date", region_column="region")
        return self.query(
            "select region, order_date, order_count, net_revenue"
            f" from analytics.rpt_regional_sales {where.sql()} order by order_date, region",
            where.params,
        )

    def comparison_window(self, today: date) -> SameTime:
        """What `today` is set against: the day before to the same minute, or whole days."""
        return same_time.window_for(self.query, today)

    def payment_rates(self, window: SameTime) -> tuple[same_time.Rates, same_time.Rates]:
        """Today's and yesterday's failure and refund rates up to the same minute."""
        return same_time.payment_rates(self.query, window)

    def regional_growth(self, window: SameTime) -> pd.DataFrame:
        """Each region's net revenue and orders on the window's two days, and the growth."""
        return same_time.regional_growth(self.query, window, self.filters.regions)

    # ---- Inventory

    def inventory(self) -> dict[str, object]:
        where = self._where(category_column="category")
        stock = self.query(
            "select product_id, product_name, category, stock_on_hand, units_sold_28_days,"
            " average_daily_units_sold, days_until_stockout, needs_reorder, last_moved_at"
            f" from analytics.rpt_inventory_current {where.sql()}"
            " order by days_until_stockout nulls last, product_id",
            where.params,
        )
        if stock.empty:
            return {"stock": stock, "reorder": stock, "by_category": stock, "summary": {}}
        reorder = stock[stock["needs_reorder"].astype(bool)].copy()
        by_category = (
            stock.groupby("category", as_index=False)
            .agg(
                stock_on_hand=("stock_on_hand", "sum"),
                products=("product_id", "count"),
                needing_reorder=("needs_reorder", "sum"),
            )
            .sort_values("category")
        )
        summary = {
            "products": len(stock),
            "units_on_hand": float(stock["stock_on_hand"].sum()),
            "needing_reorder": int(stock["needs_reorder"].astype(bool).sum()),
            "out_of_stock": int((stock["stock_on_hand"] <= 0).sum()),
        }
        return {"stock": stock, "reorder": reorder, "by_category": by_category, "summary": summary}

    # ---- Payments

    def payments(self) -> dict[str, pd.DataFrame]:
        where = self._where(date_column="payment_date")
        sums = (
            "sum(authorized_count) as authorized_count, sum(failed_count) as failed_count,"
            " sum(refund_count) as refund_count, sum(authorized_amount) as authorized_amount,"
            " sum(refunded_amount) as refunded_amount"
        )
        by_method = self.query(
            f"select payment_method, {sums} from analytics.rpt_payments {where.sql()}"
            " group by payment_method order by payment_method",
            where.params,
        )
        by_day = self.query(
            f"select payment_date, {sums} from analytics.rpt_payments {where.sql()}"
            " group by payment_date order by payment_date",
            where.params,
        )
        for frame in (by_method, by_day):
            if frame.empty:
                continue
            attempts = frame["authorized_count"] + frame["failed_count"]
            frame["attempt_count"] = attempts
            frame["failure_rate"] = safe_ratio(frame["failed_count"], attempts)
            frame["refund_rate"] = safe_ratio(frame["refund_count"], frame["authorized_count"])
        if not by_method.empty:
            by_method["method_share"] = safe_ratio(
                by_method["attempt_count"],
                pd.Series(by_method["attempt_count"].sum(), index=by_method.index),
            )
        return {"by_method": by_method, "by_day": by_day}

    # ---- Geography

    def geography(self) -> dict[str, pd.DataFrame]:
        where = self._where("order_date", "region", "category")
        countries = self.query(
            "select country_code, country_name, region, sum(order_count) as order_count,"
            " sum(net_revenue) as net_revenue, sum(margin_amount) as margin_amount"
            f" from analytics.rpt_daily_sales_by_region_category {where.sql()}"
            " group by country_code, country_name, region"
            " order by net_revenue desc, country_code",
            where.params,
        )
        if countries.empty:
            return {"countries": countries, "regions": countries}
        regions = (
            countries.groupby("region", as_index=False)[["net_revenue", "margin_amount"]]
            .sum()
            .sort_values("net_revenue", ascending=False)
        )
        regions["revenue_share"] = regions["net_revenue"] / regions["net_revenue"].sum()
        return {"countries": countries, "regions": regions}

    # ---- Funnel

    def funnel(self) -> dict[str, pd.DataFrame]:
        return funnel(self.query, self._where(date_column="session_date"))

    # ---- Pipeline health

    def pipeline_health(self) -> dict[str, object] | None:
        """Freshness, refresh log, errors and events/s; None where the engine
        has no ops tables (Snowflake)."""
        return pipeline_health(self.query, self.now) if self.has_ops_tables else None

    # ---- Explore

    def explorer(self) -> Explorer:
        """Every published mart, from the reader's catalog (none without one)."""
        return Explorer(self.query, self.catalog or (lambda query: pd.DataFrame()))
