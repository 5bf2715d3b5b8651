"""The Funnel tab: sessions reaching each step, and conversion per day (rpt_funnel)."""

from __future__ import annotations

import pandas as pd

from snowcart.dashboard.filters import Where
from snowcart.dashboard.kpis import safe_ratio
from snowcart.engines.base import MartQuery

FUNNEL_STAGES = (
    ("Viewed a product", "viewed_sessions"),
    ("Added to cart", "cart_sessions"),
    ("Reached checkout", "checkout_sessions"),
    ("Purchased", "purchase_sessions"),
)


def funnel(query: MartQuery, where: Where) -> dict[str, pd.DataFrame]:
    """Stage totals over the selection (each stage's rate from the one before) and the
    daily conversion rates."""
    columns = ["session_count", *(column for _, column in FUNNEL_STAGES)]
    totals = query(
        "select "
        + ", ".join(f"sum({column}) as {column}" for column in columns)
        + f" from analytics.rpt_funnel {where.sql()}",
        where.params,
    )
    daily = query(
        "select session_date, session_count, purchase_sessions, view_to_cart_rate,"
        " cart_to_checkout_rate, checkout_to_purchase_rate, session_conversion_rate"
        f" from analytics.rpt_funnel {where.sql()} order by session_date",
        where.params,
    )
    if totals.empty or pd.isna(totals["session_count"].iloc[0]):
        return {"stages": pd.DataFrame(), "daily": daily}
    row = totals.iloc[0]
    stages = pd.DataFrame(
        {
            "stage": [label for label, _ in FUNNEL_STAGES],
            "sessions": [float(row[column]) for _, column in FUNNEL_STAGES],
        }
    )
    stages["rate_from_previous"] = safe_ratio(
        stages["sessions"], stages["sessions"].shift(1)
    ).fillna(1.0)
    session_count = float(row["session_count"])
    stages["share_of_sessions"] = stages["sessions"] / session_count if session_count else None
    return {"stages": stages, "daily": daily}
