"""Shared fixtures: temporary homes, running scripts and dbt as a user would,
and a fakesnow server, an S3 + SQS server (moto) and a Kafka broker (Tansu)
started and stopped by the tests themselves."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
import yaml
from xdist_groups import pytest_collection_modifyitems  # noqa: F401 (a pytest hook)

from snowcart.devtools.local_servers import (
    BIN_DIR,
    TEST_AWS_ENVIRONMENT,
    S3Bucket,
    free_port,
    kafka_broker,
    moto_bucket,
    wait_for_port,
)
from snowcart.settings import vars_from_environment
from snowcart.stages.local import LocalStage

PROJECT_DIR = Path(__file__).resolve().parents[2]
# fakesnow has no GRANT: the tests turn the marts' reporter grants off (in this
# process, for in-process dbt, and in every command they start).
os.environ.setdefault("SNOWCART_REPORTER_ROLE", "")
# Nor streams: the facts' streams on models (macro create_change_streams) stay
# uncreated there; fakesnow runs first builds only, which read no stream.
os.environ.setdefault("SNOWCART_CHANGE_STREAMS", "off")
# Under pytest-xdist each worker gets its own dbt target/ and logs/: two dbt runs
# sharing one partial-parse cache and compiled/ folder would trip over each other.
if WORKER := os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ["DBT_TARGET_PATH"] = str(PROJECT_DIR / "target" / WORKER)
    os.environ["DBT_LOG_PATH"] = str(PROJECT_DIR / "logs" / WORKER)


# What Settings.resolve exports for dbt running in the same process.
EXPORTED_BY_SETTINGS = ("SNOWCART_HOME", "SNOWCART_TARGET", "DBT_TARGET_PATH")


@pytest.fixture(autouse=True)
def restore_exported_environment():
    """A test that resolves settings in this process (an AppTest, a Pipeline)
    exports the home and target; the next test, and the commands it starts,
    must not inherit them (an AppTest in Snowflake mode once made the next
    test's dashboard server ask for Snowflake settings)."""
    saved = {name: os.environ.get(name) for name in EXPORTED_BY_SETTINGS}
    yield
    for name, value in saved.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def run(
    args: list[str], home: Path | None = None, timeout: int = 300, **env: str
) -> subprocess.CompletedProcess:
    """Run a command from the project folder with the test's home and env."""
    full_env = {**os.environ, **env}
    full_env.pop("SNOWCART_TARGET", None)
    if home is not None:
        full_env["SNOWCART_HOME"] = str(home)
        full_env["DBT_TARGET_PATH"] = str(home / "target")  # as the pipeline does
    return subprocess.run(
        args, cwd=PROJECT_DIR, env=full_env, capture_output=True, text=True, timeout=timeout
    )


def simulate(*args: str, home: Path | None = None, **env: str) -> subprocess.CompletedProcess:
    return run([sys.executable, "scripts/simulate.py", *args], home=home, **env)


def dbt(*args: str, home: Path, **env: str) -> subprocess.CompletedProcess:
    """The dbt CLI, with the --vars the scripts derive from SNOWCART_* knobs
    (vars given in `args` win)."""
    variables = vars_from_environment({**os.environ, **env})
    if "--vars" in args:
        at = args.index("--vars") + 1
        variables.update(yaml.safe_load(args[at]))
        args = args[: at - 1] + args[at + 1 :]
    if variables:
        args = (*args, "--vars", json.dumps(variables))
    return run([str(BIN_DIR / "dbt"), *args], home=home, **env)


def staged_order_lines(stage_dir: Path) -> list[dict]:
    """Every order line in the stage files, read straight from the JSON."""
    lines = []
    for path in sorted((stage_dir / "orders").glob("*.ndjson")):
        for text in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(text)
            for line in event["lines"]:
                lines.append({**line, "order_id": event["order_id"]})
    return lines


def assert_sales_tie_out_to_the_ledger(home: Path, ledger: list[dict]) -> None:
    """fct_sales holds the orders, order lines and net revenue the producer's
    ledger records (its own sums, made when the events were generated)."""
    import duckdb

    orders = [record for record in ledger if record["table"] == "orders"]
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        order_count, line_count, booked = con.execute(
            "select count(distinct order_id), count(*), sum(booked_revenue)"
            " from analytics.fct_sales"
        ).fetchone()
    assert order_count == sum(record["orders"] for record in orders)
    assert line_count == sum(record["order_lines"] for record in orders)
    assert round(float(booked), 2) == round(sum(record["net_revenue"] for record in orders), 2)


def line_net_revenue(line: dict) -> Decimal:
    return Decimal(str(line["unit_price"])) * line["quantity"] - Decimal(
        str(line["discount_amount"])
    )


# Hand-written events, for tests that need exact cases the generator never makes.


def stamp(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S")


def customer_event(event_id: str, customer_id: str, segment: str, at: datetime, kind="created"):
    return json.dumps({
        "event_id": event_id, "event_type": f"customer_{kind}", "event_at": stamp(at),
        "customer_id": customer_id, "name": f"Name {customer_id}", "email": f"{customer_id}@x.org",
        "country_code": "DE", "region": "Berlin", "city": "Berlin", "age_group": "25-34",
        "segment": segment, "signup_at": "2025-01-01T00:00:00", "updated_at": stamp(at),
    })  # fmt: skip


def product_event(event_id: str, product_id: str, cost: float, at: datetime, kind="created"):
    return json.dumps({
        "event_id": event_id, "event_type": f"product_{kind}", "event_at": stamp(at),
        "product_id": product_id, "name": f"Product {product_id}", "category": "home",
        "unit_cost": cost, "list_price": 20.0, "initial_stock": 100, "updated_at": stamp(at),
    })  # fmt: skip


def deliver(home: Path, batch: int, events: dict[str, list[str]]) -> None:
    """Stage one batch of hand-written events and run the pipeline until drained."""
    stage = LocalStage(home / "stage")
    for table, lines in events.items():
        stage.write(table, batch, lines)
    result = simulate("--events", "0", "--home", str(home))
    assert result.returncode == 0, result.stderr + result.stdout


@pytest.fixture
def fakesnow_login(monkeypatch) -> None:
    """Snowflake settings for an in-process `fakesnow.patch()`: it accepts any
    login, so the project's own fakesnow login (no secret) only has to be set."""
    from snowcart.engines.snowflake.connection import SnowflakeConfig

    login = SnowflakeConfig.for_fakesnow(port=0)
    for name, value in {
        "SNOWFLAKE_ACCOUNT": login.account,
        "SNOWFLAKE_USER": login.user,
        "SNOWFLAKE_PASSWORD": login.password,
        "SNOWFLAKE_DATABASE": login.database,
    }.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def fakesnow_port(tmp_path):
    """A fresh, empty fakesnow server on a free local port."""
    with fakesnow_server(tmp_path / "fakesnow.log") as port:
        yield port


@pytest.fixture
def s3_bucket(tmp_path, monkeypatch) -> S3Bucket:
    """moto's S3 and SQS on a free local port, for one test: bucket `shop`,
    prefix `events/`, a queue of its notifications; AWS test credentials in the
    environment (for the commands the test starts)."""
    for name, value in TEST_AWS_ENVIRONMENT.items():
        monkeypatch.setenv(name, value)
    with moto_bucket(tmp_path / "moto.log") as bucket:
        yield bucket


@pytest.fixture
def kafka_bootstrap(tmp_path) -> str:
    """A Kafka-protocol broker (Tansu, in memory) on a free local port, for one
    test: its bootstrap address."""
    with kafka_broker(tmp_path / "kafka.log") as bootstrap:
        yield bootstrap


@contextlib.contextmanager
def fakesnow_server(log_path: Path):
    """Start fakesnow on a free local port, yield the port once it listens, stop it."""
    port = free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [str(BIN_DIR / "fakesnow"), "-s", "-p", str(port)], stdout=log, stderr=subprocess.STDOUT
        )
    try:
        wait_for_port(server, port, log_path, "fakesnow")
        yield port
    finally:
        server.terminate()
        server.wait(timeout=10)
