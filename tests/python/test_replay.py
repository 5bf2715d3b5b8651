"""Replay of real data: the warehouse's figures equal the same figures computed
directly from the source file with pandas. The committed slice runs in CI;
`make replay-check` runs the full UCI file.

Net revenue is checked against the file itself: gross of every sale line (not
a `C` or `A` invoice) minus every `C` line as a refund, in total and per day
under the README's convention (a refund on the day of the sale it returns, the
customer's latest earlier sale of the product; otherwise on its own day)."""

import os
import re
import sys
from collections import defaultdict
from datetime import date
from decimal import Decimal
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from conftest import PROJECT_DIR, run
from streamlit.testing.v1 import AppTest

from snowcart.sources.replay import ColumnMapping, Replay

SOURCE = Path(
    os.environ.get(
        "SNOWCART_REPLAY_FILE", PROJECT_DIR / "tests/python/fixtures/online_retail_slice.parquet"
    )
).resolve()


def money(quantity, price) -> Decimal:
    return Decimal(int(quantity)) * Decimal(str(price))


def expected_figures() -> dict:
    frame = pd.read_parquet(SOURCE)
    invoice = frame["InvoiceNo"].astype(str)
    sales = frame[~invoice.str.startswith(("C", "A")) & (frame["Quantity"] > 0)]
    returns = frame[invoice.str.startswith("C")]
    by_country: dict[str, Decimal] = defaultdict(Decimal)
    for country, quantity, price in zip(
        sales["Country"], sales["Quantity"], sales["UnitPrice"], strict=True
    ):
        by_country[country] += money(quantity, price)
    for country, quantity, price in zip(
        returns["Country"], returns["Quantity"], returns["UnitPrice"], strict=True
    ):
        by_country[country] -= money(-quantity, price)
    gross = sum(
        (money(q, p) for q, p in zip(sales["Quantity"], sales["UnitPrice"], strict=True)),
        Decimal(0),
    )
    refunds = sum(
        (money(-q, p) for q, p in zip(returns["Quantity"], returns["UnitPrice"], strict=True)),
        Decimal(0),
    )
    return {
        "gross": gross,
        "returns": refunds,
        "net": gross - refunds,
        "daily_net": expected_daily_net(sales, returns),
        "orders": sales["InvoiceNo"].nunique(),
        "customers": sales["CustomerID"].dropna().nunique(),
        "by_country": {country: amount for country, amount in by_country.items()},
        "bad_debt_rows": int(invoice.str.startswith("A").sum()),
    }


def expected_daily_net(sales: pd.DataFrame, returns: pd.DataFrame) -> dict[date, Decimal]:
    """Net revenue per day: each sale on its day; each refund on the day of the
    sale it returns (that customer's latest sale of the product at or before
    the refund), or on its own day when there is none (a guest, or sold before
    the file starts)."""
    daily: dict[date, Decimal] = defaultdict(Decimal)
    for at, quantity, price in zip(
        sales["InvoiceDate"], sales["Quantity"], sales["UnitPrice"], strict=True
    ):
        daily[at.date()] += money(quantity, price)
    known = sales.dropna(subset=["CustomerID"]).sort_values("InvoiceDate")
    refunds = returns.assign(refund_row=range(len(returns))).sort_values("InvoiceDate")
    matched = pd.merge_asof(
        refunds.dropna(subset=["CustomerID"]),
        known[["InvoiceDate", "CustomerID", "StockCode"]].rename(
            columns={"InvoiceDate": "sold_at"}
        ),
        left_on="InvoiceDate",
        right_on="sold_at",
        by=["CustomerID", "StockCode"],
        direction="backward",
    )
    sold_at = dict(zip(matched["refund_row"], matched["sold_at"], strict=True))
    for row, at, quantity, price in zip(
        refunds["refund_row"],
        refunds["InvoiceDate"],
        refunds["Quantity"],
        refunds["UnitPrice"],
        strict=True,
    ):
        booked = sold_at.get(row)
        day = at.date() if booked is None or pd.isna(booked) else booked.date()
        daily[day] -= money(-quantity, price)
    return dict(daily)


def warehouse_figures(home: Path) -> dict:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        gross, orders, customers = con.execute(
            "select sum(gross_revenue), count(distinct order_id), count(distinct customer_id)"
            " from analytics.fct_sales"
        ).fetchone()
        (refunds,) = con.execute("select sum(refund_amount) from analytics.fct_returns").fetchone()
        # Sale lines net of their refunds, plus the refunds whose sale is not in the data.
        (sales_net,) = con.execute("select sum(net_revenue) from analytics.fct_sales").fetchone()
        (refunds_without_sale,) = con.execute(
            "select coalesce(sum(refund_amount), 0) from analytics.fct_returns"
            " where order_line_id is null"
        ).fetchone()
        daily_net = dict(
            con.execute("select order_date, net_revenue from analytics.rpt_daily_sales").fetchall()
        )
        by_country = dict(
            con.execute(
                """
                select ship_country, sum(amount) from (
                    select ship_country, gross_revenue - discount_amount as amount
                    from analytics.fct_sales
                    union all
                    select ship_country, -refund_amount from analytics.fct_returns
                ) group by 1
                """
            ).fetchall()
        )
    return {
        "gross": Decimal(gross),
        "returns": Decimal(refunds),
        "net": Decimal(sales_net) - Decimal(refunds_without_sale),
        "daily_net": {day: Decimal(amount) for day, amount in daily_net.items()},
        "orders": orders,
        "customers": customers,
        "by_country": {country: Decimal(amount) for country, amount in by_country.items()},
    }


def overview_net_revenue(home: Path, monkeypatch) -> Decimal:
    """The Net revenue card of the dashboard over this home, as shown."""
    app_file = PROJECT_DIR / "dashboard" / "app.py"
    monkeypatch.setattr(sys, "argv", [str(app_file), "--home", str(home)])
    monkeypatch.delenv("SNOWCART_TARGET", raising=False)
    app = AppTest.from_file(str(app_file), default_timeout=60).run()
    assert not app.exception, app.exception
    (card,) = [metric for metric in app.metric if metric.label == "Net revenue"]
    # From a million on the card is compact ($3.27M); its help has every digit.
    text = card.help.split(", ")[0] if card.value.endswith(("M", "B", "T")) else card.value
    return Decimal(re.sub(r"[$,]", "", text))


def test_replay_at_full_speed_matches_the_source_file(tmp_path, monkeypatch):
    result = run(
        [sys.executable, "scripts/simulate.py", "--replay", str(SOURCE), "--speed", "0"],
        home=tmp_path,
        timeout=1800,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    expected = expected_figures()
    actual = warehouse_figures(tmp_path)
    for figure in ("gross", "returns", "net", "orders", "customers"):
        assert actual[figure] == expected[figure], figure
    assert actual["by_country"] == expected["by_country"]
    assert actual["daily_net"] == expected["daily_net"]
    assert sum(actual["daily_net"].values()) == expected["gross"] - expected["returns"]
    # The Overview's net revenue card: the newest day, to the cent.
    newest = max(expected["daily_net"])
    assert overview_net_revenue(tmp_path, monkeypatch) == round(expected["daily_net"][newest], 2)
    # Bad-debt adjustments are reported, not sold.
    assert f"bad-debt adjustments: {expected['bad_debt_rows']} rows" in result.stdout

    reconciled = run([sys.executable, "scripts/reconcile.py"], home=tmp_path)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


def test_every_source_row_is_accounted_for():
    replay = Replay(SOURCE)
    frame = pd.read_parquet(SOURCE)
    report = replay.report
    assert report.rows_read == len(frame)
    assert report.accounted()
    invoice = frame["InvoiceNo"].astype(str)
    assert report.bad_debt_rows == int(invoice.str.startswith("A").sum())
    assert report.return_lines == int(invoice.str.startswith("C").sum())
    # Events come out in event-time order.
    assert replay.event_times == sorted(replay.event_times)


def test_other_layouts_are_mapped_by_column(tmp_path):
    renamed = tmp_path / "shop.csv"
    frame = pd.read_parquet(SOURCE).head(200)
    frame.rename(columns={"InvoiceNo": "order_no", "UnitPrice": "price"}).to_csv(
        renamed, index=False
    )
    replay = Replay(renamed, ColumnMapping.parse("invoice=order_no,unit_price=price"))
    assert replay.report.rows_read == 200
    with pytest.raises(Exception, match="--replay-columns"):
        Replay(renamed)


def test_a_crash_mid_batch_resumes_without_loss_or_duplicate_lines(tmp_path):
    import json
    import threading

    from snowcart.reconcile import ledger_events
    from snowcart.sources.generator import ShopGenerator
    from snowcart.sources.producer import Producer
    from snowcart.stages.local import LocalStage

    replay = Replay(SOURCE)
    stage = LocalStage(tmp_path / "stage")

    def producer() -> Producer:
        return Producer(
            ShopGenerator(seed=1), stage, tmp_path / "ledger.ndjson", tmp_path / "producer.json"
        )

    # The crash: batch 0 was staged and recorded, its plan not yet cleared.
    producer().emit_batch(replay.batch(0, 0, 500))
    (tmp_path / "replay.json").write_text(
        json.dumps(
            {
                "source": str(SOURCE),
                "next_event": 0,
                "pending": {"batch": 0, "start": 0, "end": 500},
            }
        )
    )
    replay.run(producer(), speed=0, stop=threading.Event())

    staged_lines = sum(
        len(path.read_text().splitlines()) for path in (tmp_path / "stage").rglob("*.ndjson")
    )
    assert staged_lines == len(replay)
    assert sum(ledger_events(tmp_path / "ledger.ndjson").values()) == len(replay)
    assert json.loads((tmp_path / "replay.json").read_text())["next_event"] == len(replay)
