"""Snowcart's live dashboard. The layout only: the figures come from
snowcart.dashboard.data, the charts from snowcart.dashboard.charts.

    streamlit run dashboard/app.py -- [--target dev|snowflake] [--home DIR] [--refresh-seconds N]
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pandas as pd
import streamlit as st

from snowcart.dashboard import charts
from snowcart.dashboard.data import DashboardData, reader_for
from snowcart.dashboard.filters import Filters
from snowcart.dashboard.health import EMBEDDED_ONLY_HEALTH
from snowcart.dashboard.kpis import KpiSet
from snowcart.engines.base import MartReader, NotReady
from snowcart.errors import ConfigError
from snowcart.settings import TARGETS

TABS = (
    "Overview",
    "Customers",
    "Products",
    "Sales trends",
    "Inventory",
    "Payments",
    "Geography",
    "Funnel",
    "Explore",
    "Pipeline health",
)
# Keeps the page at full opacity while it refreshes (see the file).
STYLE = Path(__file__).with_name("style.css")
PERIODS = {"All data": None, "Last 7 days": 7, "Last 30 days": 30, "Custom range": "custom"}
# Column formats follow the project's naming: money ends in _revenue/_amount/_value...
MONEY_SUFFIXES = ("_revenue", "_amount", "_value", "_revenue_30_days")
PERCENT_SUFFIXES = ("_rate", "_share", "_growth", "_previous", "_of_sessions")


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="dashboard/app.py")
    parser.add_argument("--target", choices=TARGETS, default=None)
    parser.add_argument("--home", default=None, help="pipeline home (default $SNOWCART_HOME)")
    parser.add_argument("--refresh-seconds", type=float, default=5.0)
    # Streamlit's test harness runs the script under pytest's argv: ignore what is not ours.
    args, _ = parser.parse_known_args(argv)
    return args


@st.cache_resource(show_spinner=False)
def cached_reader(target: str | None, home: str | None) -> MartReader:
    return reader_for(target, home)


def chart(figure, key: str) -> None:
    # Streamlit's chart theme draws in the active theme's palette. The theme's
    # name in the figure makes a light/dark switch change the figure, so the
    # next refresh redraws it in the new palette.
    figure.update_layout(meta={"theme": st.context.theme.type})
    st.plotly_chart(figure, theme="streamlit", key=key, config={"displaylogo": False})


def column_format(name: str, values: pd.Series):
    label = name.replace("_", " ").capitalize()
    if name.endswith(MONEY_SUFFIXES):
        return st.column_config.NumberColumn(label, format="dollar")
    if name.endswith(PERCENT_SUFFIXES):
        return st.column_config.NumberColumn(label, format="percent")
    if name.endswith(("_date", "_month")):
        return st.column_config.DateColumn(label, format="YYYY-MM-DD")
    if pd.api.types.is_datetime64_any_dtype(values):
        return st.column_config.DatetimeColumn(label, format="YYYY-MM-DD HH:mm:ss")
    if pd.api.types.is_float_dtype(values) and name.endswith(("_s", "_s_ago")):
        return st.column_config.NumberColumn(label, format="%.1f")
    return label


def table(frame: pd.DataFrame, key: str) -> None:
    config = {name: column_format(name, frame[name]) for name in frame.columns}
    st.dataframe(frame, hide_index=True, column_config=config, key=key)


def no_rows(what: str) -> None:
    st.info(f"No {what} in this selection yet.")


# ---------------------------------------------------------------- sidebar


def sidebar(reader: MartReader, refresh_seconds: float) -> Filters:
    options = {"regions": [], "categories": [], "first_date": None, "last_date": None}
    try:
        with reader.open() as query:
            options = DashboardData(query, has_ops_tables=reader.has_ops_tables).filter_options()
    except NotReady:
        pass
    st.session_state["filter_options"] = options_signature(options)

    st.sidebar.title("Snowcart")
    st.sidebar.caption(f"{reader.description} · refreshes every {refresh_seconds:g} s")
    period = st.sidebar.selectbox("Period", list(PERIODS), key="period")
    start = end = None
    if PERIODS[period] == "custom" and options["last_date"]:
        first, last = options["first_date"], options["last_date"]
        chosen = st.sidebar.date_input(
            "Order dates", value=(first, last), min_value=first, max_value=last, key="dates"
        )
        chosen = tuple(chosen) if isinstance(chosen, tuple | list) else (chosen,)
        start, end = chosen[0], chosen[-1]
    regions = st.sidebar.multiselect("Region", options["regions"], key="regions")
    categories = st.sidebar.multiselect("Category", options["categories"], key="categories")
    st.sidebar.caption("Empty region or category = all of them. Each tab says which filters apply.")
    last_days = PERIODS[period] if isinstance(PERIODS[period], int) else None
    return Filters(start, end, last_days, tuple(regions), tuple(categories))


def options_signature(options: dict) -> tuple:
    return (tuple(options["regions"]), tuple(options["categories"]), options["last_date"])


def filters_note(*applied: str) -> None:
    st.caption("Filters applied here: " + (", ".join(applied) if applied else "none"))


# ---------------------------------------------------------------- tabs


def kpi_cards(kpis: KpiSet, filters: Filters) -> None:
    for column, kpi in zip(st.columns(len(kpis.kpis)), kpis.kpis, strict=True):
        with column, st.container(key=f"kpi-{kpi.key}"):
            notes = [kpi.exact_text] if kpi.exact_text != kpi.value_text else []
            if kpi.key == "margin" and kpis.margin_rate is not None:
                notes.append(f"{kpis.margin_rate:.1%} of net revenue")
            help_text = ", ".join(notes) or None
            st.metric(kpi.label, kpi.value_text, kpi.delta_text, border=True, help=help_text)
    if kpis.today:
        st.caption(kpi_caption(kpis, filters))
    if filters.slices_orders:
        st.caption(
            "With a region or category filter, an order spanning two categories counts "
            "once in each (rpt_daily_sales_by_region_category)."
        )


def kpi_caption(kpis: KpiSet, filters: Filters) -> str:
    window = kpis.window
    today = f"Today = the newest order date in the selection, {kpis.today}"
    if window.clock:
        today += f", so far (orders to {window.clock} UTC)"
        against = f"against {kpis.yesterday} up to the same minute"
    else:
        against = f"against the whole of {kpis.yesterday}"
    if not kpis.has_yesterday:
        against = f"no orders on {window.describe(kpis.yesterday)} to compare with"
    caption = f"{today}; {against}."
    if window.whole_day_only:
        why = (
            "a category filter leaves no sales per minute"
            if filters.categories
            else "rpt_regional_sales_per_minute is not published yet"
        )
        caption += f" Today may not be over: {why} to compare the same hours with."
    return caption


def overview(data: DashboardData) -> None:
    kpis = data.kpis()
    if kpis.today is None:
        no_rows("orders")
        return
    kpi_cards(kpis, data.filters)
    filters_note("date range", "region", "category")
    chart(charts.revenue_trend(data.revenue_trend()), "overview-trend")
    st.caption("Trend by day; the newest day in the data is the day so far.")
    live = data.sales_per_minute()
    freshness = data.live_freshness()
    if live.empty:
        no_rows("orders per minute")
    else:
        chart(charts.sales_per_minute(live), "overview-live")
    if freshness["newest_ordered_at"] is not None:
        st.caption(
            f"Newest order in the live mart: {freshness['newest_ordered_at']:%Y-%m-%d %H:%M:%S}"
            f" UTC ({format_age(freshness['lag_s'])} ago). Live chart: date range only."
        )


def customers(data: DashboardData) -> None:
    frames = data.customers()
    filters_note("region (the customer's current country)")
    if frames["top_customers"].empty:
        no_rows("customers")
        return
    repeat = frames["repeat"]
    multi = frames["multi_region"]
    cols = st.columns(3)
    cols[0].metric("Customers", f"{int(repeat['customer_count'].sum()):,}")
    repeaters = repeat.loc[repeat["is_repeat_customer"].astype(bool), "customer_count"].sum()
    cols[1].metric("Repeat customers", f"{repeaters / repeat['customer_count'].sum():.1%}")
    cols[2].metric(
        "Shipped to 2+ regions", f"{int(multi['customer_count'].iloc[0]) if len(multi) else 0:,}"
    )
    left, right = st.columns(2)
    with left:
        chart(
            charts.ranked_bar(
                frames["segments"], "rfm_segment", "net_revenue", "Net revenue by RFM segment"
            ),
            "customers-segments",
        )
    with right:
        chart(
            charts.share_donut(repeat, "customers", "customer_count", "Repeat vs one-order"),
            "customers-repeat",
        )
    chart(
        charts.ranked_bar(
            frames["age_groups"], "age_group", "net_revenue", "Net revenue by age group"
        ),
        "customers-age",
    )
    st.subheader("Top customers")
    table(frames["top_customers"], "customers-top")
    st.subheader("Repeat customers, last 30 days")
    table(frames["repeat_30_days"], "customers-repeat-30")


def products(data: DashboardData) -> None:
    frames = data.products()
    if frames["top_products"].empty and frames["categories"].empty:
        no_rows("products")
        return
    left, right = st.columns(2)
    with left:
        filters_note("category (all-time revenue)")
        chart(
            charts.ranked_bar(
                frames["top_products"], "product_name", "net_revenue", "Top 5 products"
            ),
            "products-top",
        )
    with right:
        filters_note("date range", "region", "category")
        chart(
            charts.ranked_bar(
                frames["top_categories"], "category", "net_revenue", "Top 5 categories"
            ),
            "products-categories",
        )
    table(frames["top_products"], "products-table")
    if not frames["categories"].empty:
        chart(charts.margin_bars(frames["categories"]), "products-margins")


def sales_trends(data: DashboardData) -> None:
    grid = data.hourly_heatmap()
    filters_note("date range (heatmap)", "region and category (monthly, growth)")
    if grid.to_numpy().sum() == 0:
        no_rows("orders per minute")
    else:
        chart(charts.heatmap(grid), "trends-heatmap")
    monthly = data.monthly_sales()
    if monthly.empty:
        no_rows("monthly sales")
    else:
        left, right = st.columns(2)
        with left:
            chart(charts.monthly_by(monthly, "category"), "trends-monthly-category")
        with right:
            chart(charts.monthly_by(monthly, "region"), "trends-monthly-region")
    regional = data.regional_sales()
    if regional.empty:
        no_rows("regional sales")
        return
    chart(charts.regional_trend(regional), "trends-regional")
    window = data.comparison_window(regional["order_date"].max().date())
    growth = data.regional_growth(window)
    if growth.empty:
        no_rows("regional sales per minute")
        return
    if growth["net_revenue_growth"].notna().any():
        title = (
            f"Net revenue growth by region: {window.describe(window.today)}"
            f" against {window.describe(window.yesterday)}"
        )
        chart(charts.regional_growth(growth, title), "trends-growth")
    if window.clock:
        st.caption(
            f"{window.today} is today so far (to {window.clock} UTC): growth and the table set it"
            f" against {window.yesterday} up to the same minute, the line chart shows it as is."
        )
    else:
        st.caption(f"Growth and the table: {window.today} against the whole of {window.yesterday}.")
    table(growth, "trends-latest")


def inventory(data: DashboardData) -> None:
    frames = data.inventory()
    filters_note("category")
    if frames["stock"].empty:
        no_rows("inventory")
        return
    summary = frames["summary"]
    cols = st.columns(4)
    cols[0].metric("Products", f"{summary['products']:,}")
    cols[1].metric("Units on hand", f"{summary['units_on_hand']:,.0f}")
    cols[2].metric("Need reorder", f"{summary['needing_reorder']:,}")
    cols[3].metric("Out of stock", f"{summary['out_of_stock']:,}")
    if frames["reorder"].empty:
        st.success("No product needs a reorder.")
    else:
        st.warning(f"{len(frames['reorder'])} product(s) to reorder: out of stock or < 14 days.")
        table(frames["reorder"], "inventory-reorder")
    left, right = st.columns(2)
    with left:
        chart(charts.stockout_bars(frames["stock"]), "inventory-stockout")
    with right:
        chart(charts.stock_by_category(frames["by_category"]), "inventory-categories")


def payments(data: DashboardData) -> None:
    frames = data.payments()
    filters_note("date range")
    by_method = frames["by_method"]
    if by_method.empty:
        no_rows("payments")
        return
    attempts = by_method["attempt_count"].sum()
    cols = st.columns(3)
    cols[0].metric("Payment attempts", f"{attempts:,.0f}")
    cols[1].metric("Failure rate", f"{by_method['failed_count'].sum() / attempts:.2%}")
    authorized = by_method["authorized_count"].sum()
    refund_rate = by_method["refund_count"].sum() / authorized if authorized else 0
    cols[2].metric("Refund rate", f"{refund_rate:.2%}")
    left, right = st.columns(2)
    with left:
        chart(
            charts.share_donut(by_method, "payment_method", "attempt_count", "Method mix"),
            "payments-mix",
        )
    with right:
        rates = {"failure_rate": "Failure rate", "refund_rate": "Refund rate"}
        chart(
            charts.rate_bars(by_method, "payment_method", rates, "Rates by method"),
            "payments-rates",
        )
    chart(
        charts.rate_lines(frames["by_day"], "payment_date", rates, "Rates by day"),
        "payments-daily",
    )
    newest = frames["by_day"]["payment_date"].max().date()
    window = data.comparison_window(newest)
    if window.clock:
        today, yesterday = data.payment_rates(window)
        cols = st.columns(2)
        for column, (label, now, before) in zip(
            cols,
            (
                ("Failure rate today", today.failure_rate, yesterday.failure_rate),
                ("Refund rate today", today.refund_rate, yesterday.refund_rate),
            ),
            strict=True,
        ):
            delta = None
            if now is not None and before is not None:
                delta = f"{(now - before) * 100:+.2f} pp {window.compared_with}"
            column.metric(label, "—" if now is None else f"{now:.2%}", delta, delta_color="inverse")
        st.caption(
            f"Today so far (to {window.clock} UTC) against yesterday up to the same minute"
            f" (rpt_payments_per_minute). Rates by day: {newest} is a partial day."
        )
    table(by_method, "payments-table")


def geography(data: DashboardData) -> None:
    frames = data.geography()
    filters_note("date range", "region", "category")
    countries = frames["countries"]
    if countries.empty:
        no_rows("sales by country")
        return
    left, right = st.columns([3, 2])
    with left:
        chart(charts.country_map(countries), "geography-map")
        st.caption("The map's country shapes load from the internet; offline it stays blank.")
    with right:
        chart(charts.country_bars(countries), "geography-bars")
    table(frames["regions"], "geography-regions")


def funnel(data: DashboardData) -> None:
    frames = data.funnel()
    filters_note("date range")
    stages = frames["stages"]
    if stages.empty:
        no_rows("sessions")
        return
    left, right = st.columns([3, 2])
    with left:
        chart(charts.funnel(stages), "funnel-chart")
    with right:
        table(stages, "funnel-table")
    rates = {
        "view_to_cart_rate": "View → cart",
        "cart_to_checkout_rate": "Cart → checkout",
        "checkout_to_purchase_rate": "Checkout → purchase",
        "session_conversion_rate": "Session conversion",
    }
    chart(
        charts.rate_lines(frames["daily"], "session_date", rates, "Conversion by day"),
        "funnel-daily",
    )


def explore(data: DashboardData) -> None:
    explorer = data.explorer()
    marts = {mart.name: mart for mart in explorer.marts()}
    filters_note()
    if not marts:
        no_rows("published marts")
        return
    chosen = st.selectbox(
        "Mart",
        list(marts),
        format_func=lambda name: marts[name].label,
        key="explore-mart",
        help="Every report mart (rpt_*) of the current publication, with its description.",
    )
    mart = marts[chosen]
    with st.expander(f"{len(mart.columns)} columns"):
        described = pd.DataFrame(
            [(c.name.lower(), c.data_type.lower(), c.description) for c in mart.columns],
            columns=["column", "type", "description"],
        )
        st.dataframe(described, hide_index=True, key="explore-columns")
    figure = explorer.chart(mart)
    if figure is None:
        st.info("This mart has no time or text column to chart, or no rows yet.")
    elif figure.kind == "line":
        chart(charts.explore_line(figure.frame, figure.axis, figure.value, figure.title), "explore")
    else:
        money = figure.value.endswith(MONEY_SUFFIXES)
        chart(
            charts.ranked_bar(figure.frame, figure.axis, figure.value, figure.title, money=money),
            "explore",
        )
    rows = explorer.rows(mart)
    newest = " (newest first)" if mart.first("time") else ""
    st.caption(f"First {len(rows):,} rows{newest}.")
    table(rows, "explore-table")


def pipeline_health(data: DashboardData) -> None:
    health = data.pipeline_health()
    live = data.live_freshness()
    filters_note()
    cols = st.columns(4)
    with cols[0], st.container(key="health-lag"):
        st.metric("Newest order lag", format_age(live["lag_s"]), help="now − newest order")
    if health is None:
        for column, label in zip(
            cols[1:], ("Events/s", "Marts published", "Failed jobs"), strict=True
        ):
            column.metric(label, "n/a")
        st.info(
            "Snowflake refreshes the dynamic tables itself and keeps no snowcart ops tables: "
            "see INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY and COPY_HISTORY "
            f"({', '.join(EMBEDDED_ONLY_HEALTH)} included)."
        )
        return
    freshness = health["freshness"]
    with cols[1], st.container(key="health-events"):
        st.metric("Events/s (last minute)", f"{health['events_per_s']:,.1f}")
    with cols[2], st.container(key="health-published"):
        oldest = freshness["published_s_ago"].max() if not freshness.empty else None
        st.metric("Oldest mart published", format_age(oldest) + " ago" if oldest else "n/a")
    with cols[3], st.container(key="health-errors"):
        st.metric("Failed jobs (refresh log)", f"{len(health['errors']):,}")
    cols = st.columns(4)
    for column, (label, key) in zip(cols, (
        ("Load errors", "load_errors"), ("Quarantined rows", "quarantined"),
        ("Stream backlog (rows)", "stream_backlog"), ("Skipped stage files", "skipped_files"),
    ), strict=True):  # fmt: skip
        with column, st.container(key=f"health-{key.replace('_', '-')}"):
            st.metric(label, f"{health[key]:,}")
    if freshness.empty:
        no_rows("published marts")
    else:
        chart(charts.freshness_bars(freshness), "health-freshness")
        table(freshness, "health-freshness-table")
    st.subheader("Jobs")
    table(health["jobs"], "health-jobs")
    st.subheader("Errors")
    if health["errors"].empty:
        st.success("No failed job in the refresh log.")
    else:
        table(health["errors"], "health-errors-table")
    st.subheader("Load errors and quarantine")
    if health["quality"].empty:
        st.success("No load error and nothing quarantined: every staged line is in the models.")
    else:
        st.caption(
            "By table and reason, with the newest example: lines the pipe could not land "
            "(ops.load_errors) and rows staging holds back (the qrn_* views)."
        )
        table(health["quality"], "health-quality")
    st.subheader("Stream consumers")
    table(health["lag"], "health-lag-table")
    if not health["stage"].empty:
        if health["stage"]["field"].str.startswith("Kafka").any():
            st.subheader("Kafka topics")
            st.caption(
                "Consumer lag: records the topics' partitions hold beyond what the warehouse "
                "loaded, as the pipeline last counted them (each partition below)."
            )
        else:
            st.subheader("S3 stage")
            st.caption(
                "The oldest object not loaded yet and the bucket's notices waiting in the queue, "
                "as the pipeline last counted them (objects not brought in count in the stage "
                "backlog of the live status)."
            )
        table(health["stage"], "health-stage-table")
        if not health["kafka"].empty:
            table(health["kafka"], "health-kafka-table")
    st.subheader("Skipped stage files")
    if health["skipped"].empty:
        st.success("No stage file skipped: the pipe loaded every entry of the stage.")
    else:
        shown = len(health["skipped"])
        more = f", the newest {shown:,} shown" if health["skipped_files"] > shown else ""
        st.caption(
            f"{health['skipped_files']:,} stage files not loaded, each with its reason"
            f"{more} (ops.load_skips)."
        )
        table(health["skipped"], "health-skipped")
    st.subheader("Refresh log (newest first)")
    table(health["refresh_log"], "health-log")


def format_age(seconds: float | None) -> str:
    if seconds is None or pd.isna(seconds):
        return "n/a"
    age = timedelta(seconds=round(seconds))
    if age < timedelta(minutes=2):
        return f"{age.total_seconds():.0f} s"
    if age < timedelta(hours=2):
        return f"{age.total_seconds() / 60:.0f} min"
    if age < timedelta(days=2):
        return f"{age.total_seconds() / 3600:.1f} h"
    return f"{age.days} d"


RENDERERS = (
    overview,
    customers,
    products,
    sales_trends,
    inventory,
    payments,
    geography,
    funnel,
    explore,
    pipeline_health,
)


# ---------------------------------------------------------------- the page


def live_body(reader: MartReader, filters: Filters) -> None:
    """Everything that refreshes on its own: one publication per refresh."""
    try:
        with reader.open() as query:
            data = DashboardData(query, filters, reader.has_ops_tables, catalog=reader.mart_catalog)
            loading = data.loading_message()
            if loading:
                st.info(loading)
                return
            if options_signature(data.filter_options()) != st.session_state.get("filter_options"):
                st.rerun()  # new regions, categories or days: rebuild the sidebar
            with st.container(key="refreshed-at"):
                st.caption(f"Updated {datetime.now(UTC):%H:%M:%S} UTC")
            for tab, render in zip(st.tabs(TABS, key="tabs"), RENDERERS, strict=True):
                with tab:
                    render_tab(render, data)
    except NotReady as reason:
        st.info(str(reason))


def render_tab(render, data: DashboardData) -> None:
    # One broken mart shows an error in its tab; the other tabs still render.
    try:
        render(data)
    except Exception as error:
        st.error(f"Could not load this view: {error}")


def main() -> None:
    st.set_page_config(page_title="Snowcart live sales", page_icon="🛒", layout="wide")
    st.html(STYLE)
    args = parse_args(sys.argv[1:])
    try:
        reader = cached_reader(args.target, args.home)
    except ConfigError as error:
        st.error(str(error))
        st.stop()
    filters = sidebar(reader, args.refresh_seconds)
    st.title("Live sales")
    st.fragment(run_every=args.refresh_seconds)(live_body)(reader, filters)


main()
