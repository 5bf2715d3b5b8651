"""The real-time loop: readers on the serving layer while the pipeline writes,
and a broken model that stops neither ingestion nor the other marts."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
from conftest import PROJECT_DIR

from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
from snowcart.loop.pipeline import Pipeline
from snowcart.loop.project import lag_seconds
from snowcart.loop.status import StatusBoard
from snowcart.settings import Settings
from snowcart.sources.generator import ShopGenerator
from snowcart.sources.producer import Producer
from snowcart.stages.local import LocalStage


def test_readers_never_fail_and_totals_never_go_back_while_the_pipeline_streams(tmp_path):
    """A reader in this process polls the serving file every 200 ms while
    simulate.py streams in another process."""
    home = tmp_path / "home"
    pipeline = subprocess.Popen(
        [sys.executable, "scripts/simulate.py", "--events", "40000", "--rate", "1500",
         "--home", str(home)],
        cwd=PROJECT_DIR, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    serving = home / "serving.duckdb"
    seen: list[int] = []
    try:
        while pipeline.poll() is None:
            if serving.exists():
                # Any error here (a lock, a half-written file) fails the test.
                with duckdb.connect(str(serving), read_only=True) as reader:
                    (orders,) = reader.execute(
                        "select coalesce(sum(order_count), 0) from analytics.rpt_sales_per_minute"
                    ).fetchone()
                seen.append(int(orders))
            time.sleep(0.2)
        output = pipeline.stdout.read()
    finally:
        pipeline.kill()
    assert pipeline.returncode == 0, output[-3000:]
    assert len(seen) > 20
    assert seen == sorted(seen), "a reader saw the order count go back"
    assert len(set(seen)) >= 3, f"the serving layer was published too rarely: {sorted(set(seen))}"
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        (orders,) = con.execute(
            "select count(distinct order_id) from analytics.fct_sales"
        ).fetchone()
        refreshes = con.execute(
            "select count(*), count(*) filter (where status = 'success') from ops.refresh_log"
        ).fetchone()
    assert seen[-1] <= orders
    with duckdb.connect(str(serving), read_only=True) as reader:
        (final,) = reader.execute(
            "select sum(order_count) from analytics.rpt_sales_per_minute"
        ).fetchone()
        (lag,) = reader.execute(
            "select max(lag_s) from ops.mart_freshness where mart = 'rpt_sales_per_minute'"
        ).fetchone()
    assert final == orders  # the drain publishes everything
    assert lag is not None and refreshes[0] == refreshes[1] > 2


def copy_project(target: Path) -> Path:
    ignore = shutil.ignore_patterns(".venv", ".git", "target", "logs", ".snowcart", "dbt_packages")
    shutil.copytree(PROJECT_DIR, target, ignore=ignore)
    return target


def test_a_broken_mart_stops_neither_ingestion_nor_the_other_marts_and_recovers(
    tmp_path, monkeypatch
):
    # Every mart due every second (default 30 s), so the broken one is retried soon.
    monkeypatch.setenv("SNOWCART_EMBEDDED_TARGET_LAG", "1 second")
    project = copy_project(tmp_path / "project")
    settings = Settings(target="dev", home=tmp_path / "home", project_dir=project)
    settings.prepare()
    warehouse = DuckDBWarehouse(settings)
    producer = Producer(
        ShopGenerator(seed=3), LocalStage(settings.stage_dir), settings.ledger_path,
        settings.producer_state_path,
    )  # fmt: skip
    mart = project / "models" / "marts" / "reporting" / "rpt_daily_sales.sql"
    good_sql = mart.read_text()
    try:
        warehouse.setup()
        pipeline = Pipeline(warehouse, StatusBoard("test", plain_every_s=1e9))
        producer.run(3000, 0, stop=_never())
        pipeline.cycle()  # initial build, then the first cycle
        time.sleep(1.1)  # every mart due: the first loads reach all of them
        pipeline.cycle()

        mart.write_text("select no_such_column from {{ ref('fct_sales') }}\n")
        producer.run(6000, 0, stop=_never())
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            pipeline.cycle()
            if not warehouse.consumers_with_data() and warehouse.pending_files() == 0:
                break
        scheduler = pipeline.scheduler
        daily = next(m for m in scheduler.marts if m.name == "rpt_daily_sales")
        per_minute = next(m for m in scheduler.marts if m.name == "rpt_sales_per_minute")
        assert daily.failures > 0 and "rpt_daily_sales" in (scheduler.refresh.last_error or "")
        counts = _counts(warehouse)
        # Ingestion and the other marts went on: everything loaded is in the facts
        # and in the live mart; the broken mart still holds its last good build.
        assert counts["raw"] == counts["ledger_events"]
        assert counts["per_minute_orders"] == counts["fct_orders"] > counts["daily_orders"]
        assert per_minute.refreshed_version == scheduler.data_version

        mart.write_text(good_sql)  # the fix lands
        deadline = time.monotonic() + 120
        while daily.failures and time.monotonic() < deadline:
            time.sleep(0.5)
            pipeline.cycle()
        assert daily.failures == 0
        counts = _counts(warehouse)
        assert counts["daily_orders"] == counts["fct_orders"]
    finally:
        mart.write_text(good_sql)
        warehouse.close()


def _never():
    import threading

    return threading.Event()


def _counts(warehouse: DuckDBWarehouse) -> dict[str, int]:
    ledger_events = sum(
        int(line.split('"events": ')[1].split(",")[0])
        for line in warehouse.settings.ledger_path.read_text().splitlines()
    )
    row = warehouse.con.execute(
        """
        select
            (select count(*) from raw.orders) + (select count(*) from raw.order_status)
            + (select count(*) from raw.returns) + (select count(*) from raw.payments)
            + (select count(*) from raw.inventory) + (select count(*) from raw.customers)
            + (select count(*) from raw.products) + (select count(*) from raw.web_events),
            (select count(distinct order_id) from analytics.fct_sales),
            (select sum(order_count) from analytics.rpt_sales_per_minute),
            (select sum(order_count) from analytics.rpt_daily_sales)
        """
    ).fetchone()
    return {
        "ledger_events": ledger_events,
        "raw": row[0],
        "fct_orders": row[1],
        "per_minute_orders": row[2],
        "daily_orders": row[3],
    }


@pytest.mark.parametrize(
    ("lag", "seconds"), [("1 second", 1), ("30 seconds", 30), ("1 minute", 60), ("downstream", 0)]
)
def test_target_lag_parses_like_snowflake(lag, seconds):
    assert lag_seconds(lag) == seconds


def test_a_bad_target_lag_is_a_clear_error():
    from snowcart.errors import ConfigError

    with pytest.raises(ConfigError, match="'soon' is not"):
        lag_seconds("soon")
