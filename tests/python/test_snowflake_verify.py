"""`setup.py --target snowflake --verify`, the account check. What it checks
(pipes, streams, dynamic tables, tasks, roles) only a real account can run:
here its statements are parsed with sqlglot and held to the scratch database,
its verdicts are computed from rows shaped as Snowflake documents them, and
against fakesnow (a test double of Snowflake, without warehouses, pipes,
streams, dynamic tables or roles) it stops at the first statement fakesnow
lacks and still drops its scratch database and its temporary home."""

from __future__ import annotations

import json
import os
import re
import sys

import pytest
import sqlglot
from conftest import run

from snowcart.engines.snowflake.connection import SnowflakeConfig
from snowcart.engines.snowflake.plan import SnowflakePlan
from snowcart.engines.snowflake.verdicts import (
    dynamic_tables_check,
    pipe_status_check,
    totals_check,
)
from snowcart.engines.snowflake.verify import AccountCheck
from snowcart.settings import Settings

NO_SNOWFLAKE_ENV = {name: "" for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER",
                    "SNOWFLAKE_PASSWORD", "SNOWFLAKE_PRIVATE_KEY_PATH", "SNOWFLAKE_DATABASE",
                    "SNOWFLAKE_WAREHOUSE", "SNOWFLAKE_SETUP_ROLE")}  # fmt: skip


def dry_run(*flags: str, **env: str) -> list[str]:
    result = run([sys.executable, "scripts/setup.py", "--target", "snowflake", *flags,
                  "--dry-run"], **{**NO_SNOWFLAKE_ENV, **env})  # fmt: skip
    assert result.returncode == 0, result.stderr
    code = "\n".join(line for line in result.stdout.splitlines() if not line.startswith("--"))
    return [" ".join(part.split()) for part in code.split(";") if part.strip()]


@pytest.mark.parametrize("database", ["SNOWCART", "SHOP_PROD"])
def test_the_check_parses_and_writes_only_to_its_scratch_database(database):
    env = {"SNOWFLAKE_DATABASE": database} if database != "SNOWCART" else {}
    checked = dry_run("--verify", **env)
    scratch = f"{database}_VERIFY"
    for sql in checked:
        assert isinstance(sqlglot.parse_one(sql, read="snowflake"), sqlglot.exp.Expression), sql
        # The production database is never named (SNOWCART_WH and the roles are other names).
        assert not re.search(rf"\b{database}\b", sql), sql
    drops = [sql for sql in checked if re.match(r"(DROP|TRUNCATE|UNDROP)\b", sql)]
    assert drops == [f"DROP DATABASE IF EXISTS {scratch}"] * 2
    assert checked[0] == checked[-1] == drops[0]
    assert not any("CREATE OR REPLACE" in sql for sql in checked)
    # The one DELETE is the reporter's, which must be refused.
    deletes = [number for number, sql in enumerate(checked) if sql.startswith("DELETE")]
    assert len(deletes) == 1
    roles = [sql for sql in checked[: deletes[0]] if sql.startswith("USE ROLE")]
    assert roles[-1] == "USE ROLE SNOWCART_REPORTER"

    # The scratch database is set up by setup's own statements, renamed (tasks included).
    setup = [re.sub(rf"\b{database}\b", scratch, sql) for sql in dry_run(**env)]
    assert [sql for sql in checked if sql in setup] == setup


SHOWN = [  # rows of SHOW DYNAMIC TABLES, as Snowflake documents its columns
    {"name": "RPT_DAILY_SALES", "refresh_mode": "INCREMENTAL", "refresh_mode_reason": None,
     "scheduling_state": "ACTIVE"},
    {"name": "RPT_FUNNEL", "refresh_mode": "FULL", "refresh_mode_reason": "window functions",
     "scheduling_state": "ACTIVE"},
]  # fmt: skip
STATED = {"rpt_daily_sales": "INCREMENTAL", "rpt_funnel": "FULL"}


def test_dynamic_tables_pass_only_in_their_stated_mode_and_active():
    assert dynamic_tables_check(SHOWN, STATED).passed
    suspended = [SHOWN[0], {**SHOWN[1], "scheduling_state": "SUSPENDED"}]
    assert dynamic_tables_check(suspended, STATED).detail == "rpt_funnel is SUSPENDED"
    full = [{**SHOWN[0], "refresh_mode": "FULL", "refresh_mode_reason": "a join"}, SHOWN[1]]
    verdict = dynamic_tables_check(full, STATED)
    assert not verdict.passed
    assert verdict.detail == "rpt_daily_sales refreshes FULL, not INCREMENTAL (a join)"
    assert dynamic_tables_check(SHOWN[:1], STATED).detail == "rpt_funnel missing"


def test_sales_totals_pass_only_when_they_equal_the_ledger_to_the_cent():
    ledger = {"orders": 12, "order_lines": 30, "net_revenue": 1234.565}
    assert totals_check((12, 30, 1234.57), ledger).passed
    assert not totals_check((12, 29, 1234.57), ledger).passed
    assert not totals_check((12, 30, 1234.55), ledger).passed


def test_on_fakesnow_it_stops_at_the_first_refusal_says_what_is_left_and_restores_the_process(
    fakesnow_port, tmp_path, monkeypatch
):
    """fakesnow refuses DROP DATABASE, the check's first statement: the check
    stops there, names the statement and the refusal, tells the user to drop
    the scratch database (its cleanup is refused too), and leaves the process
    as it found it: environment, and no temporary home."""
    config = SnowflakeConfig.for_fakesnow(fakesnow_port)
    monkeypatch.setenv("SNOWCART_PROBE", "kept")
    before = dict(os.environ)
    said: list[str] = []
    settings = Settings(target="snowflake", home=tmp_path / "home")
    check = AccountCheck(settings, SnowflakePlan.from_project(), config, out=said.append)
    assert check.home.exists()
    checks = check.run()

    assert [(c.name, c.passed) for c in checks] == [("stopped", False)]
    assert checks[0].detail.startswith("DROP DATABASE IF EXISTS SNOWCART_VERIFY: "), checks
    assert "syntax error" in checks[0].detail
    assert said[-1].startswith("snowcart verify: could not drop SNOWCART_VERIFY (")
    assert said[-1].endswith("): drop it")
    assert dict(os.environ) == before
    assert not check.home.exists()


S3_FLAGS = ("--s3-url", "s3://my-bucket/snowcart/", "--storage-integration", "SNOWCART_S3",
            "--aws-role-arn", "arn:aws:iam::123456789012:role/snowcart-snowflake")  # fmt: skip


def test_with_s3_the_check_uses_a_folder_the_production_pipes_never_read():
    checked = dry_run("--verify", *S3_FLAGS)
    for sql in checked:
        assert isinstance(sqlglot.parse_one(sql, read="snowflake"), sqlglot.exp.Expression), sql
        assert not re.search(r"\bSNOWCART\b", sql), sql
    # The storage integration is setup's: the check neither creates nor alters one.
    assert not [sql for sql in checked if "STORAGE INTEGRATION" in sql]
    [stage] = [
        sql
        for sql in checked
        if sql.startswith("CREATE STAGE IF NOT EXISTS SNOWCART_VERIFY.raw.landing_s3")
    ]
    assert "URL = 's3://my-bucket/snowcart/snowcart_verify/'" in stage
    # Production pipes read <prefix><table>/: the scratch folder is no table's.
    setup = dry_run(*S3_FLAGS)
    copies = [sql[sql.index("FROM @") :] for sql in setup if "_s3_pipe AUTO_INGEST" in sql]
    assert copies and all("@SNOWCART.raw.landing_s3/snowcart_verify" not in sql for sql in copies)
    statuses = [sql for sql in checked if "SYSTEM$PIPE_STATUS" in sql]
    assert len(statuses) == len([sql for sql in checked if "_s3_pipe AUTO_INGEST" in sql]) > 0


def test_s3_pipes_pass_only_when_every_one_is_running():
    running = json.dumps({"executionState": "RUNNING", "pendingFileCount": 0})
    assert pipe_status_check({"A.raw.orders_s3_pipe": running}).passed
    paused = json.dumps({"executionState": "PAUSED"})
    verdict = pipe_status_check({"A.raw.orders_s3_pipe": running, "A.raw.returns_s3_pipe": paused})
    assert not verdict.passed and verdict.detail == "A.raw.returns_s3_pipe is PAUSED"
    assert not pipe_status_check({"A.raw.orders_s3_pipe": "not json"}).passed
    assert not pipe_status_check({}).passed
