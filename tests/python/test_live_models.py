"""A new mart goes live without code changes: the running loop notices a model
added to the project, builds it on its lag with its inputs, publishes it with
its description in ops.mart_catalog, and the dashboard's Explore tab shows it.
The drain publishes a mart added just before it."""

from __future__ import annotations

import sys
import threading
import time
from pathlib import Path

import duckdb
import pytest
from conftest import PROJECT_DIR
from streamlit.testing.v1 import AppTest
from test_realtime import copy_project

from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
from snowcart.loop.pipeline import Pipeline
from snowcart.loop.status import StatusBoard
from snowcart.settings import Settings
from snowcart.sources.generator import ShopGenerator
from snowcart.sources.producer import Producer
from snowcart.stages.local import LocalStage

APP = PROJECT_DIR / "dashboard" / "app.py"
DEADLINE_S = 150

STATUS_MART = "rpt_order_status_mix"
STATUS_SQL = """\
-- Order lines and net revenue per order status (added while the loop runs).
select
    order_status,
    count(*) as order_line_count,
    cast(sum(net_revenue) as {{ sql_type('money') }}) as net_revenue
from {{ ref('fct_sales') }}
group by order_status
"""
STATUS_YAML = """\
version: 2
models:
  - name: rpt_order_status_mix
    description: Order lines and net revenue per order status, added while the loop ran.
    columns:
      - name: order_status
        data_type: varchar
        description: Current status of the order.
      - name: order_line_count
        data_type: bigint
        description: Order lines in that status.
      - name: net_revenue
        data_type: decimal(38, 4)
        description: Net revenue of those lines.
"""
# The analyst's pull request of CONTRIBUTING.md (also played through pr-check
# in test_pr_check.py): merged while the loop runs.
ANALYST_PR = PROJECT_DIR / "tests" / "python" / "fixtures" / "analyst_pr"
ANALYST_MART = "rpt_revenue_by_country_and_payment_method"
DAILY_MART = "rpt_daily_units_added"
DAILY_SQL = """\
-- Units ordered per day (added just before the drain).
select
    order_date,
    cast(sum(quantity) as bigint) as units_sold
from {{ ref('fct_sales') }}
group by order_date
"""
DAILY_YAML = """\
version: 2
models:
  - name: rpt_daily_units_added
    description: Units ordered per order date, added just before the drain.
    columns:
      - name: order_date
        data_type: date
        description: UTC date the orders were placed.
      - name: units_sold
        data_type: bigint
        description: Units ordered that day.
"""


def add_mart(project: Path, name: str, sql: str, yaml: str) -> None:
    folder = project / "models" / "marts" / "reporting"
    (folder / f"_{name}.yml").write_text(yaml)
    (folder / f"{name}.sql").write_text(sql)


def serving_rows(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def published(home: Path, mart: str) -> bool:
    path = home / "serving.duckdb"
    if not path.exists():
        return False
    rows = serving_rows(
        home,
        "select count(*) from information_schema.tables"
        f" where table_schema = 'analytics' and table_name = '{mart}'",
    )
    return rows[0][0] == 1


@pytest.fixture(scope="module")
def live_run(tmp_path_factory):
    """A loop cycling in this process; a mart is added to its project while it
    runs, and cycles go on until the mart is published and caught up."""
    root = tmp_path_factory.mktemp("live-models")
    with pytest.MonkeyPatch.context() as patch:
        # Every mart due every second (default 30 s): the test waits on the lag.
        patch.setenv("SNOWCART_EMBEDDED_TARGET_LAG", "1 second")
        project = copy_project(root / "project")
        settings = Settings(target="dev", home=root / "home", project_dir=project)
        settings.prepare()
        warehouse = DuckDBWarehouse(settings)
        producer = Producer(
            ShopGenerator(seed=5), LocalStage(settings.stage_dir), settings.ledger_path,
            settings.producer_state_path,
        )  # fmt: skip
        try:
            warehouse.setup()
            pipeline = Pipeline(warehouse, StatusBoard("test", plain_every_s=1e9))
            producer.run(2000, 0, stop=threading.Event())
            pipeline.cycle()  # initial build, then the first cycle
            assert not published(settings.home, STATUS_MART)

            add_mart(project, STATUS_MART, STATUS_SQL, STATUS_YAML)
            add_mart(
                project, ANALYST_MART, (ANALYST_PR / f"{ANALYST_MART}.sql").read_text(),
                (ANALYST_PR / f"{ANALYST_MART}.yml").read_text(),
            )  # fmt: skip
            producer.run(3000, 0, stop=threading.Event())
            deadline = time.monotonic() + DEADLINE_S
            while time.monotonic() < deadline:
                pipeline.cycle()
                new = [m for m in pipeline.scheduler.marts if m.name in (STATUS_MART, ANALYST_MART)]
                caught_up = (
                    len(new) == 2
                    and all(m.refreshed_version == pipeline.scheduler.data_version for m in new)
                    and not warehouse.consumers_with_data()
                    and warehouse.pending_files() == 0
                )
                if caught_up and all(published(settings.home, m.name) for m in new):
                    break
            yield pipeline, warehouse, project, settings.home
        finally:
            warehouse.close()


def test_a_mart_added_while_the_loop_runs_is_built_and_published_on_its_lag(live_run):
    pipeline, warehouse, _, home = live_run
    assert published(home, STATUS_MART), pipeline.report.project_changes
    expected = warehouse.con.execute(
        "select order_status, count(*), sum(net_revenue) from analytics.fct_sales"
        " group by order_status order by order_status"
    ).fetchall()
    served = serving_rows(
        home,
        "select order_status, order_line_count, net_revenue"
        f" from analytics.{STATUS_MART} order by order_status",
    )
    assert served == expected and len(served) > 1

    [(description, columns)] = serving_rows(
        home, f"select description, columns from ops.mart_catalog where mart = '{STATUS_MART}'"
    )
    assert description.startswith("Order lines and net revenue per order status")
    assert '"description": "Order lines in that status."' in columns
    # Every published mart is in the catalog, the established ones with their docs.
    catalog = dict(serving_rows(home, "select mart, description from ops.mart_catalog"))
    assert catalog["rpt_daily_sales"].startswith("Revenue, orders")

    # The loop said once what it saw.
    said = [line for line in pipeline.report.project_changes if STATUS_MART in line]
    assert len(said) == 1 and said[0].startswith("project changed: new mart"), said
    assert ANALYST_MART in said[0] and STATUS_MART in said[0], said
    assert pipeline.status.fields["last note"] == said[0]
    # The other marts kept their state: only the new one was never refreshed before.
    assert all(mart.refreshed_at is not None for mart in pipeline.scheduler.marts)


def test_the_analysts_mart_goes_live_and_ties_out_to_the_facts(live_run):
    """Its revenue and orders equal fct_sales' own totals (read in the warehouse,
    not through the mart's logic), and the Explore tab can list it."""
    _, warehouse, _, home = live_run
    assert published(home, ANALYST_MART)
    expected = warehouse.con.execute(
        "select count(distinct order_id), sum(net_revenue) from analytics.fct_sales"
    ).fetchone()
    served = serving_rows(
        home, f"select sum(order_count), sum(net_revenue) from analytics.{ANALYST_MART}"
    )[0]
    assert served == expected and expected[0] > 0
    [(description,)] = serving_rows(
        home, f"select description from ops.mart_catalog where mart = '{ANALYST_MART}'"
    )
    assert description.startswith("Orders, units and revenue per order date")


def test_the_drain_publishes_a_mart_added_just_before_it(live_run):
    pipeline, warehouse, project, home = live_run
    add_mart(project, DAILY_MART, DAILY_SQL, DAILY_YAML)
    pipeline.drain(None)

    assert published(home, DAILY_MART)
    expected = warehouse.con.execute(
        "select order_date, sum(quantity) from analytics.fct_sales"
        " group by order_date order by order_date"
    ).fetchall()
    assert serving_rows(
        home, f"select order_date, units_sold from analytics.{DAILY_MART} order by order_date"
    ) == [(day, int(units)) for day, units in expected]
    [(freshness,)] = serving_rows(
        home, f"select count(*) from ops.mart_freshness where mart = '{DAILY_MART}'"
    )
    assert freshness == 1
    assert any(f"new mart {DAILY_MART}" in line for line in pipeline.report.project_changes)


def test_the_explore_tab_lists_the_new_mart_and_shows_it(live_run, monkeypatch):
    _, _, _, home = live_run
    monkeypatch.setattr(sys, "argv", [str(APP), "--home", str(home), "--refresh-seconds", "60"])
    monkeypatch.delenv("SNOWCART_TARGET", raising=False)
    app = AppTest.from_file(str(APP), default_timeout=60)
    app.run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]

    picker = app.selectbox(key="explore-mart")
    # The options read "name — description", straight from ops.mart_catalog.
    assert any(
        label.startswith(f"{STATUS_MART} — Order lines and net revenue") for label in picker.options
    ), picker.options
    assert any(
        label.startswith(f"{ANALYST_MART} — Orders, units and revenue") for label in picker.options
    ), picker.options

    picker.select(STATUS_MART)
    app.run()
    assert not app.exception, [exception.value for exception in app.exception]
    assert not app.error, [error.value for error in app.error]
    explore = next(tab for tab in app.tabs if tab.label == "Explore")
    shown = next(frame.value for frame in explore.dataframe if "order_status" in frame.value)
    [(line_count,)] = serving_rows(
        home, f"select sum(order_line_count) from analytics.{STATUS_MART}"
    )
    assert int(shown["order_line_count"].sum()) == line_count
    assert explore.get("plotly_chart"), "the Explore tab shows no chart"


def test_on_snowflake_the_catalog_lists_the_marts_from_information_schema(fakesnow_login):
    """fakesnow (in this process) stands in for Snowflake: names as stored,
    comments (dbt persist_docs, when turned on) as descriptions."""
    import fakesnow
    import snowflake.connector

    from snowcart.dashboard.explore import Explorer
    from snowcart.engines.snowflake.connection import SnowflakeConfig
    from snowcart.engines.snowflake.reader import SnowflakeReader

    with fakesnow.patch():
        con = snowflake.connector.connect(database="SNOWCART", schema="ANALYTICS")
        con.cursor().execute(
            "create table rpt_things (thing_date date, thing varchar, amount number(38, 4))"
            " comment = 'Things per day.'"
        )
        con.cursor().execute("create table fct_things (thing varchar)")
        con.cursor().execute(
            "insert into rpt_things values ('2026-01-02', 'a', 2), ('2026-01-01', 'b', 3)"
        )
        reader = SnowflakeReader(SnowflakeConfig.from_env())
        with reader.open() as query:
            explorer = Explorer(query, reader.mart_catalog)
            [mart] = explorer.marts()
            assert (mart.name.lower(), mart.description) == ("rpt_things", "Things per day.")
            assert [column.kind for column in mart.columns] == ["time", "category", "number"]
            rows = explorer.rows(mart)
            assert rows["thing"].tolist() == ["a", "b"]  # newest first
            chart = explorer.chart(mart)
            assert chart.kind == "line" and chart.frame["amount"].tolist() == [3, 2]


def test_a_mart_removed_from_the_project_is_no_longer_published(live_run):
    """dbt leaves a removed model's table in the warehouse: the serving layer
    and its catalog must drop it all the same."""
    pipeline, _, project, home = live_run
    folder = project / "models" / "marts" / "reporting"
    (folder / f"{ANALYST_MART}.sql").unlink()
    (folder / f"_{ANALYST_MART}.yml").unlink()
    pipeline.drain(None)
    assert any(
        f"removed mart {ANALYST_MART}" in line for line in pipeline.report.project_changes
    ), pipeline.report.project_changes
    assert not published(home, ANALYST_MART)
    assert published(home, STATUS_MART)
    catalog = {mart for (mart,) in serving_rows(home, "select mart from ops.mart_catalog")}
    assert ANALYST_MART not in catalog and STATUS_MART in catalog
