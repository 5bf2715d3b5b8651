"""Plotly figures for the dashboard, one function per chart, from the frames
snowcart.dashboard.data returns.

Figures carry no colours of their own beyond what a chart needs to be read
(a diverging scale for growth, a sequential one for the heatmap): the app draws
them with Streamlit's chart theme, which follows the light or dark theme the
reader picked and takes its palette from .streamlit/config.toml.
"""

from __future__ import annotations

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
from plotly.subplots import make_subplots

MONEY = "$,.2f"
COMPACT_MONEY = "$,.3s"


def _layout(figure: go.Figure, height: int = 340, **layout) -> go.Figure:
    figure.update_layout(
        height=height,
        margin={"l": 8, "r": 8, "t": 36, "b": 8},
        legend_title_text="",
        hovermode="x unified" if layout.pop("unified", False) else "closest",
        **layout,
    )
    return figure


def _daily_axis(figure: go.Figure, dates: pd.Series) -> go.Figure:
    """One tick per day when the span is short (plotly would tick every 6 hours)."""
    if not dates.empty and (dates.max() - dates.min()) <= pd.Timedelta(days=14):
        figure.update_xaxes(dtick=24 * 3600 * 1000, tickformat="%b %d")
    return figure


def revenue_trend(trend: pd.DataFrame) -> go.Figure:
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(
        x=trend["order_date"],
        y=trend["net_revenue"],
        name="Net revenue",
        hovertemplate="%{y:" + MONEY + "}",
    )
    figure.add_scatter(
        x=trend["order_date"],
        y=trend["order_count"],
        name="Orders",
        mode="lines+markers",
        secondary_y=True,
    )
    figure.update_yaxes(title_text="Net revenue", tickformat=COMPACT_MONEY, secondary_y=False)
    figure.update_yaxes(title_text="Orders", secondary_y=True, showgrid=False, rangemode="tozero")
    _daily_axis(figure, trend["order_date"])
    return _layout(figure, title="Net revenue and orders, last 30 days", unified=True)


def sales_per_minute(live: pd.DataFrame) -> go.Figure:
    figure = px.bar(
        live,
        x="sales_minute",
        y="booked_revenue",
        labels={"sales_minute": "Minute (UTC)", "booked_revenue": "Booked revenue"},
        hover_data={"order_count": True},
        title="Live: booked revenue per minute, newest hour",
    )
    figure.update_yaxes(tickformat=COMPACT_MONEY)
    return _layout(figure, height=300)


def heatmap(grid: pd.DataFrame) -> go.Figure:
    figure = go.Figure(
        go.Heatmap(
            z=grid.to_numpy(),
            x=[f"{hour:02d}h" for hour in grid.columns],
            y=list(grid.index),
            colorscale="Viridis",
            colorbar={"title": "Net revenue", "tickformat": COMPACT_MONEY},
            hovertemplate="%{y} %{x}: %{z:" + MONEY + "}<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed")
    return _layout(figure, height=360, title="Net revenue by weekday and hour (UTC)")


def monthly_by(monthly: pd.DataFrame, dimension: str) -> go.Figure:
    totals = monthly.groupby(["sales_month", dimension], as_index=False)["net_revenue"].sum()
    figure = px.bar(
        totals,
        x="sales_month",
        y="net_revenue",
        color=dimension,
        labels={"sales_month": "Month", "net_revenue": "Net revenue", dimension: dimension.title()},
        title=f"Monthly net revenue by {dimension}",
    )
    figure.update_xaxes(dtick="M1", tickformat="%b %Y")
    figure.update_yaxes(tickformat=COMPACT_MONEY)
    return _layout(figure)


def regional_trend(regional: pd.DataFrame) -> go.Figure:
    figure = px.line(
        regional,
        x="order_date",
        y="net_revenue",
        color="region",
        markers=True,
        labels={"order_date": "Order date", "net_revenue": "Net revenue", "region": "Region"},
        title="Daily net revenue by region",
    )
    figure.update_yaxes(tickformat=COMPACT_MONEY)
    _daily_axis(figure, regional["order_date"])
    return _layout(figure, unified=True)


def regional_growth(growth: pd.DataFrame, title: str) -> go.Figure:
    """Each region's net revenue growth (same_time.regional_growth)."""
    figure = px.bar(
        growth,
        x="region",
        y="net_revenue_growth",
        color="net_revenue_growth",
        color_continuous_scale="RdYlGn",
        color_continuous_midpoint=0,
        labels={"region": "Region", "net_revenue_growth": "Net revenue growth"},
        title=title,
    )
    figure.update_yaxes(tickformat=".0%")
    figure.update_coloraxes(showscale=False)
    return _layout(figure)


def ranked_bar(
    frame: pd.DataFrame, label: str, value: str, title: str, money: bool = True
) -> go.Figure:
    """A horizontal bar per row, biggest at the top."""
    figure = px.bar(
        frame.iloc[::-1],
        x=value,
        y=label,
        orientation="h",
        title=title,
        text_auto=".3s",
        labels={value: value.replace("_", " ").capitalize(), label: ""},
    )
    figure.update_traces(textposition="outside", cliponaxis=False)
    # Room on the right for the biggest bar's label.
    figure.update_xaxes(range=[0, float(frame[value].max() or 1) * 1.18])
    if money:
        figure.update_xaxes(tickformat=COMPACT_MONEY)
    return _layout(figure, height=max(260, 60 + 36 * len(frame)))


def margin_bars(categories: pd.DataFrame) -> go.Figure:
    figure = make_subplots(specs=[[{"secondary_y": True}]])
    figure.add_bar(x=categories["category"], y=categories["net_revenue"], name="Net revenue")
    figure.add_bar(x=categories["category"], y=categories["margin_amount"], name="Margin")
    figure.add_scatter(
        x=categories["category"],
        y=categories["margin_rate"],
        name="Margin rate",
        mode="markers",
        marker={"size": 12, "symbol": "diamond"},
        secondary_y=True,
    )
    figure.update_yaxes(tickformat=COMPACT_MONEY, secondary_y=False)
    figure.update_yaxes(tickformat=".0%", secondary_y=True, showgrid=False, rangemode="tozero")
    return _layout(figure, title="Revenue and margin by category", barmode="group")


def share_donut(frame: pd.DataFrame, names: str, values: str, title: str) -> go.Figure:
    figure = px.pie(frame, names=names, values=values, hole=0.5, title=title)
    figure.update_traces(textinfo="label+percent")
    return _layout(figure, height=320, showlegend=False)


def _rates_long(frame: pd.DataFrame, key: str, rates: dict[str, str]) -> pd.DataFrame:
    """One row per (key, rate): rate columns named by their labels, for one chart."""
    long = frame.melt(id_vars=[key], value_vars=list(rates), var_name="rate", value_name="value")
    long["rate"] = long["rate"].map(rates)
    return long


def rate_bars(frame: pd.DataFrame, label: str, rates: dict[str, str], title: str) -> go.Figure:
    long = _rates_long(frame, label, rates)
    figure = px.bar(
        long,
        x=label,
        y="value",
        color="rate",
        barmode="group",
        title=title,
        labels={label: "", "value": "", "rate": ""},
    )
    figure.update_yaxes(tickformat=".1%")
    return _layout(figure)


def rate_lines(frame: pd.DataFrame, x: str, rates: dict[str, str], title: str) -> go.Figure:
    long = _rates_long(frame, x, rates)
    figure = px.line(
        long,
        x=x,
        y="value",
        color="rate",
        markers=True,
        title=title,
        labels={x: "", "value": "", "rate": ""},
    )
    figure.update_yaxes(tickformat=".0%", rangemode="tozero")
    _daily_axis(figure, frame[x])
    return _layout(figure, unified=True)


def stockout_bars(stock: pd.DataFrame) -> go.Figure:
    soonest = stock.dropna(subset=["days_until_stockout"]).head(15).copy()
    soonest["status"] = soonest["needs_reorder"].map({True: "Reorder", False: "OK"})
    figure = px.bar(
        soonest.iloc[::-1],
        x="days_until_stockout",
        y="product_name",
        orientation="h",
        color="status",
        color_discrete_map={"Reorder": "#e4572e", "OK": "#4c9f70"},
        labels={
            "days_until_stockout": "Days until stockout",
            "product_name": "",
            "status": "",
        },
        title="Soonest to run out at the last 28 days' pace",
    )
    figure.add_vline(
        x=14, line_dash="dash", line_color="#8a94a6", annotation_text="14-day reorder line"
    )
    return _layout(figure, height=max(300, 60 + 28 * len(soonest)))


def stock_by_category(by_category: pd.DataFrame) -> go.Figure:
    figure = px.bar(
        by_category,
        x="category",
        y="stock_on_hand",
        title="Units on hand by category",
        labels={"category": "", "stock_on_hand": "Units on hand"},
        text_auto=".3s",
    )
    return _layout(figure, height=300)


def country_map(countries: pd.DataFrame) -> go.Figure:
    """A choropleth; its country shapes load from plotly's CDN, so offline it
    stays blank and the bar chart beside it carries the figures."""
    figure = px.choropleth(
        countries,
        locations="country_name",
        locationmode="country names",
        color="net_revenue",
        hover_name="country_name",
        color_continuous_scale="Viridis",
        labels={"net_revenue": "Net revenue"},
        title="Net revenue by ship-to country",
    )
    figure.update_geos(showframe=False, projection_type="natural earth")
    return _layout(figure, height=420)


def country_bars(countries: pd.DataFrame) -> go.Figure:
    figure = px.bar(
        countries.head(20).iloc[::-1],
        x="net_revenue",
        y="country_name",
        color="region",
        orientation="h",
        labels={"net_revenue": "Net revenue", "country_name": "", "region": "Region"},
        title="Top countries by net revenue (works offline)",
    )
    figure.update_xaxes(tickformat=COMPACT_MONEY)
    return _layout(figure, height=max(320, 60 + 26 * min(len(countries), 20)))


def funnel(stages: pd.DataFrame) -> go.Figure:
    figure = go.Figure(
        go.Funnel(
            y=stages["stage"],
            x=stages["sessions"],
            textinfo="value+percent initial+percent previous",
        )
    )
    return _layout(figure, height=340, title="Sessions reaching each step")


def freshness_bars(freshness: pd.DataFrame) -> go.Figure:
    figure = px.bar(
        freshness.sort_values("published_s_ago"),
        x="published_s_ago",
        y="mart",
        orientation="h",
        labels={"published_s_ago": "Seconds since published", "mart": ""},
        title="Seconds since each mart was last published",
    )
    return _layout(figure, height=max(300, 60 + 24 * len(freshness)))


def explore_line(frame: pd.DataFrame, x: str, y: str, title: str) -> go.Figure:
    """Any mart's first measure along its first time column (the Explore tab)."""
    figure = px.line(frame, x=x, y=y, markers=len(frame) < 60, title=title)
    figure.update_layout(xaxis_title="", yaxis_title="")
    return _layout(figure)
