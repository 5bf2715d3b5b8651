"""The dbt project through both adapters: DuckDB, and dbt-snowflake against fakesnow."""

import hashlib
import json
import os
import re
import signal
import subprocess
from decimal import Decimal
from pathlib import Path

import duckdb
import snowflake.connector
import sqlglot
from conftest import PROJECT_DIR, dbt, line_net_revenue, simulate
from test_pr_check import copy_working_tree

from snowcart.engines.snowflake.connection import SnowflakeConfig
from snowcart.settings import change_consumers
from snowcart.sources.generator import ShopGenerator


def fresh_checkout(folder: Path) -> Path:
    """The project's files as a clone has them, with the venv `make install`
    made: a clone after its install step."""
    copy_working_tree(folder)
    (folder / ".venv").symlink_to(PROJECT_DIR / ".venv")
    return folder


def test_after_make_install_dbt_build_and_docs_work_in_a_fresh_clone(tmp_path):
    """As the README says: `make install`, then the usual dbt commands, no flags
    and no variables (the installed venv stands in for the one make would create)."""
    clone = fresh_checkout(tmp_path / "clone")
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SNOWCART_", "DBT_")) or key == "SNOWCART_REPORTER_ROLE"
    }

    def command(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run(args, cwd=clone, env=env, capture_output=True, text=True, timeout=600)

    # -o: the venv is installed already; only the project-side steps run.
    installed = command("make", "-o", ".venv/.installed", "install")
    assert installed.returncode == 0, installed.stdout + installed.stderr
    result = command(".venv/bin/dbt", "build")
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Completed successfully" in result.stdout
    assert (clone / ".snowcart" / "warehouse.duckdb").exists()

    target = clone / "target"
    result = command(".venv/bin/dbt", "docs", "generate")
    assert result.returncode == 0, result.stdout[-3000:]
    manifest = json.loads((target / "manifest.json").read_text())
    catalog = json.loads((target / "catalog.json").read_text())
    models = {
        node["name"] for node in manifest["nodes"].values() if node["resource_type"] == "model"
    }
    assert {"stg_shop__orders", "fct_sales", "rpt_sales_per_minute"} <= models
    assert "model.snowcart.fct_sales" in catalog["nodes"]

    # With the pipeline holding the warehouse: dbt says so in one line, and
    # docs.py documents the same columns and types as the warehouse's catalog.
    # (The shared venv's editable snowcart belongs to the main checkout: the
    # variable points its scripts at the clone, as a clone's own venv would.)
    env["SNOWCART_PROJECT_DIR"] = str(clone)
    pipeline = subprocess.Popen(
        [".venv/bin/python", "scripts/pipeline.py"],
        cwd=clone, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    try:
        # Its first status line: setup opened the warehouse, the loop runs.
        for line in iter(pipeline.stdout.readline, ""):
            if "state=" in line:
                break
        else:
            raise AssertionError(f"the pipeline exited first: {pipeline.wait()}")
        locked = command(".venv/bin/dbt", "build")
        docs = command(".venv/bin/python", "scripts/docs.py")
    finally:
        pipeline.send_signal(signal.SIGINT)
        pipeline.communicate(timeout=300)
    assert locked.returncode != 0
    assert "Traceback" not in locked.stdout + locked.stderr
    [said] = [line for line in locked.stdout.splitlines() if "in use by" in line]
    assert said.strip().startswith(
        f"the warehouse {clone}/.snowcart/warehouse.duckdb is in use by PID {pipeline.pid}: "
    )
    assert "scripts/pipeline.py" in said and "python scripts/docs.py" in said
    assert docs.returncode == 0, docs.stdout + docs.stderr
    assert f"in use by PID {pipeline.pid}" in docs.stdout

    def column_types(catalog: dict) -> dict:
        return {
            (key, column): details["type"]
            for key, node in catalog["nodes"].items()
            for column, details in node["columns"].items()
        }

    documented = json.loads((target / "catalog.json").read_text())
    assert column_types(documented) == column_types(catalog)
    assert len(documented["nodes"]) == len(catalog["nodes"]) > 50


# dbt-snowflake runs unit tests through temporary tables, which fakesnow cannot
# create; they run on DuckDB (and would on a real account).
FAKESNOW_BUILD = ("build", "--target", "fakesnow", "--exclude-resource-type", "unit_test")


def test_snowflake_builds_then_merges_every_dynamic_table_base_in_place(tmp_path, fakesnow_port):
    """A first build, then a second one of every table a dynamic table reads
    (through views): each is an incremental merge, updated in place. On Snowflake a
    replaced base table loses the change tracking its dynamic tables refresh
    from (their refreshes fail or fall back to full; repeated failures suspend
    them). fakesnow (a test double of Snowflake) runs first builds only: it
    rejects the temporary view an incremental merge starts with, so the test
    reads what dbt sent it, up to there (the models reading a dimension are
    skipped after it). The base models read streams, which fakesnow lacks.
    Snapshots merge in place, and a second `dbt seed` truncates and inserts."""
    first = tmp_path / "target-first"
    env = {"FAKESNOW_PORT": str(fakesnow_port)}
    result = dbt(*FAKESNOW_BUILD, "--target-path", str(first), home=tmp_path, **env)
    assert result.returncode == 0, result.stdout[-3000:]
    assert "Completed successfully" in result.stdout

    nodes = json.loads((first / "manifest.json").read_text())["nodes"]
    bases = dynamic_table_base_tables(nodes)
    assert {"dim_customers", "dim_products", "dim_geography", "fct_sales"} <= bases
    for node in nodes.values():
        if node["name"] in bases and node["resource_type"] == "model":
            config = node["config"]
            assert (config["materialized"], config["incremental_strategy"]) == (
                "incremental", "merge"
            ), node["name"]  # fmt: skip
    streamed = {name for name in bases if name.startswith("base_")}
    logs = tmp_path / "logs-second"
    second = dbt("build", "--target", "fakesnow", "--exclude-resource-type", "test", "unit_test",
                 "--select", *sorted(bases - streamed), "--debug", "--log-path", str(logs),
                 "--target-path", str(tmp_path / "target-second"), home=tmp_path, **env)  # fmt: skip
    errors = [line for line in second.stdout.splitlines() if "001003" in line]
    assert all(FAKESNOW_TEMPORARY in line for line in errors), errors
    sent = sent_statements((logs / "dbt.log").read_text())
    # What reads a dimension is skipped once fakesnow rejected the dimension's merge.
    assert {"dim_customers", "dim_products", "dim_geography"} <= sent.keys()
    consumers = change_consumers()
    facts = {fact for readers in consumers.values() for fact in readers}
    for name in (bases - streamed) & sent.keys():
        statements = [" ".join(text.lower().split()) for text in sent[name]]
        # The facts read streams fakesnow lacks: they stop there, before their merge.
        if name not in facts:
            assert any(
                f"temporary view snowcart.analytics.{name}__dbt_tmp" in s for s in statements
            )
        replaced = [
            s
            for s in statements
            if re.match(rf"create or replace (transient )?table snowcart\.analytics\.{name}\b", s)
        ]
        assert replaced == [], name


def test_snowflake_facts_consume_streams_and_the_consumed_models_create_them(
    tmp_path, fakesnow_port
):
    """Snowpipe stamps `_loaded_at` with when a file started scanning and commits
    files in parallel, in no order: a fact selecting `_loaded_at` past the newest
    it holds skips a file that committed late. On Snowflake every incremental
    fact reads what it has not consumed of each table it reads from a stream of
    its own, through the MERGE's temporary view, so only the MERGE consumes it;
    each consumed model's post-hook creates those streams. fakesnow (a test
    double of Snowflake) has no streams: the incremental SQL is compiled against
    its first build, and the streams' DDL read from what dbt sent it.
    (test_streams.py runs the same out-of-order commits on DuckDB.)"""
    env = {"FAKESNOW_PORT": str(fakesnow_port)}
    consumers = change_consumers()
    facts = sorted({fact for readers in consumers.values() for fact in readers})
    build = dbt("build", "--target", "fakesnow", "--exclude-resource-type", "test", "unit_test",
                "--select", *(f"+{fact}" for fact in facts), home=tmp_path, **env)  # fmt: skip
    assert build.returncode == 0, build.stdout[-3000:]

    compiled = tmp_path / "target-compiled"
    result = dbt("compile", "--target", "fakesnow", "--select", *facts,
                 "--target-path", str(compiled), home=tmp_path, **env)  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:]
    manifest = json.loads((compiled / "manifest.json").read_text())
    for fact in facts:
        node = manifest["nodes"][f"model.snowcart.{fact}"]
        assert node["config"]["tmp_relation_type"] == "view", fact
        text = next(compiled.rglob(f"{fact}.sql")).read_text()
        sql = " ".join(re.sub(r"--[^\n]*", "", text).lower().split())
        read = set(re.findall(r"from snowcart\.\w+\.(\w+)__" + fact + r"\b", sql))
        assert read == {model for model, readers in consumers.items() if fact in readers}, fact
        assert "metadata$action = 'insert'" in sql
        # No watermark: no comparison of a load time with a literal.
        assert not re.search(r"_loaded_at\s*>\s*cast\('", sql), fact
        sqlglot.parse_one(text, read="snowflake")

    logs = tmp_path / "logs-streams"
    dbt("run", "--target", "fakesnow", "--full-refresh", "--select", *consumers,
        "--vars", '{"change_streams": "on"}', "--debug", "--log-path", str(logs),
        home=tmp_path, **env)  # fmt: skip
    sent = sent_statements((logs / "dbt.log").read_text())
    for model, readers in consumers.items():
        created = [
            " ".join(text.lower().rstrip("; \n").split())
            for text in sent.get(model, [])
            if "create or replace stream" in text.lower()
        ]
        schema = manifest["nodes"][f"model.snowcart.{model}"]["schema"]
        # A rebuilt table gets new streams that start with the rows it holds
        # (fakesnow rejects the first one, so dbt sends no second).
        assert created == [
            f"create or replace stream snowcart.{schema}.{model}__{readers[0]} "
            f"on table snowcart.{schema}.{model} append_only = true show_initial_rows = true"
        ], model
        sqlglot.parse_one(created[0], read="snowflake")


# fakesnow's answer to CREATE TEMPORARY VIEW outside its temp catalog.
FAKESNOW_TEMPORARY = 'TEMPORARY table names can *only* use the "temp" catalog'
SENT = re.compile(r"On model\.snowcart\.(\w+): (.*?)(?=\n\S*\d\d:\d\d:\d\d\.\d+ \[|\Z)", re.S)


def sent_statements(debug_log: str) -> dict[str, list[str]]:
    """The SQL dbt's debug log says it sent, by model."""
    sent: dict[str, list[str]] = {}
    for name, text in SENT.findall(debug_log):
        sent.setdefault(name, []).append(re.sub(r"/\*.*?\*/", "", text, flags=re.S).strip())
    return sent


def dynamic_table_base_tables(nodes: dict) -> set[str]:
    """Names of the tables the dynamic tables read, directly or through views."""
    found, todo = (
        set(),
        [node for node in nodes.values() if node["config"].get("materialized") == "dynamic_table"],
    )
    while todo:
        for parent in todo.pop()["depends_on"]["nodes"]:
            node = nodes.get(parent)
            # A source, a seed (a second dbt seed truncates and inserts), or seen.
            if node is None or node["resource_type"] == "seed" or node["name"] in found:
                continue
            if node["config"].get("materialized") in ("view", "ephemeral"):
                todo.append(node)
            elif node["config"].get("materialized") != "dynamic_table":
                found.add(node["name"])
    return found


def test_snowflake_sql_flattens_and_prices_order_lines(tmp_path, fakesnow_port):
    """Events landed as VARIANT on the Snowflake adapter come out of fct_sales with
    the same lines and revenue as computed in Python from the JSON."""
    env = {"FAKESNOW_PORT": str(fakesnow_port)}
    assert (
        dbt(
            "run-operation", "create_landing_tables", "--target", "fakesnow", home=tmp_path, **env
        ).returncode
        == 0
    )
    from datetime import datetime, timedelta

    start = datetime(2026, 3, 1, 12)
    batch = ShopGenerator(seed=5).batch(0, 3000, start, start + timedelta(minutes=3))
    events = batch.lines_by_table["orders"][:40]  # 40 orders, without their pools
    assert len(events) == 40
    config = SnowflakeConfig.for_fakesnow(fakesnow_port)
    with snowflake.connector.connect(**config.connect_args("raw")) as con:
        cursor = con.cursor()
        for number, event in enumerate(events + events[:5], start=1):  # 5 re-deliveries
            cursor.execute(
                # As the pipes land a line: text, parsed by staging.
                "insert into raw.orders (_line, _file_name, _file_row_number, _loaded_at)"
                " select %s, 'orders/batch.ndjson', %s, current_timestamp()",
                (event, number),
            )
    result = dbt(*FAKESNOW_BUILD, home=tmp_path, **env)
    assert result.returncode == 0, result.stdout[-3000:]

    lines = [
        {**line, "order_id": parsed["order_id"]}
        for parsed in map(json.loads, events)
        for line in parsed["lines"]
    ]
    with snowflake.connector.connect(**config.connect_args("analytics")) as con:
        rows = (
            con.cursor()
            .execute("select order_line_id, booked_revenue from analytics.fct_sales")
            .fetchall()
        )
        mart_net = (
            con.cursor()
            .execute("select sum(booked_revenue) from analytics.rpt_sales_per_minute")
            .fetchone()[0]
        )
    assert sorted(row[0] for row in rows) == sorted(
        f"{line['order_id']}-{line['line_number']}" for line in lines
    )
    expected = sum(line_net_revenue(line) for line in lines)
    assert sum(Decimal(str(row[1])) for row in rows) == expected
    # fakesnow sums NUMBER(18,2) through floating point; Snowflake would not.
    assert round(Decimal(str(mart_net)), 2) == expected

    # fakesnow cannot run a second, incremental build; compile it instead and
    # parse it as Snowflake SQL: it reads its streams, no load-time watermark.
    compiled = dbt("compile", "--select", "fct_sales", "--target", "fakesnow", home=tmp_path, **env)
    assert compiled.returncode == 0, compiled.stdout[-3000:]
    sql = (
        tmp_path
        / "target"
        / "compiled"
        / "snowcart"
        / "models"
        / "marts"
        / "sales"
        / "fct_sales.sql"
    ).read_text()
    assert "changed_orders as" in sql  # the incremental branch
    assert "snowcart.staging.base_shop__order_lines__fct_sales" in sql.lower()
    assert "_loaded_at > cast(" not in sql
    sqlglot.parse_one(sql, read="snowflake")


# Lines a producer may send, each an event or not, and why not (the embedded
# pipe's reasons, as reconcile and Pipeline health show them).
LANDED_LINES = [
    ('{"event_id": "P1", "event_type": "payment_authorized", "payment_id": "PM1"}', None),
    ("", "empty line"),
    ("   ", "empty line"),
    ('{"event_id": "P2", "payment_id": ', "malformed JSON"),
    ("not json at all", "malformed JSON"),
    ('["P3"]', "not a JSON object"),
    ("42", "not a JSON object"),
    ('{"payment_id": "PM4"}', "missing required field event_id"),
    ('{"event_id": null, "payment_id": "PM5"}', "missing required field event_id"),
    ('{"event_id": 6, "payment_id": "PM6"}', "wrong type for event_id"),
    ('{"event_id": {"id": "P7"}}', "wrong type for event_id"),
    ('{"event_id": "P8", "note": "caf\ufffd"}', "invalid UTF-8"),
    ('{"event_id": "P9", "event_type": "payment_failed", "payment_id": "PM9"}', None),
]


def expected_reason(line: str) -> str | None:
    """The reason for a line, from Python's own JSON parser."""
    if not line.strip():
        return "empty line"
    if "\ufffd" in line:
        return "invalid UTF-8"
    try:
        parsed = json.loads(line)
    except json.JSONDecodeError:
        return "malformed JSON"
    if not isinstance(parsed, dict):
        return "not a JSON object"
    if parsed.get("event_id") is None:
        return "missing required field event_id"
    return None if isinstance(parsed["event_id"], str) else "wrong type for event_id"


def test_snowflake_lands_every_line_and_keeps_the_ones_that_are_no_event(tmp_path, fakesnow_port):
    """Snowflake's pipes land each line as text (`_line`; ON_ERROR = CONTINUE would
    skip a malformed line, visible only in COPY_HISTORY). Staging parses them:
    every landed line is an event in staging or in qrn_shop__unloadable_lines
    with the embedded pipe's reason, so reconcile adds up lines = loaded +
    rejected. fakesnow (a test double of Snowflake) cannot run the pipes'
    COPY: the lines are inserted as the pipe lands them."""
    assert [reason for _, reason in LANDED_LINES] == [
        expected_reason(line) for line, _ in LANDED_LINES
    ]
    env = {"FAKESNOW_PORT": str(fakesnow_port)}
    prepared = dbt("run-operation", "create_landing_tables", "--target", "fakesnow",
                   home=tmp_path, **env)  # fmt: skip
    assert prepared.returncode == 0, prepared.stdout[-2000:]
    config = SnowflakeConfig.for_fakesnow(fakesnow_port)
    with snowflake.connector.connect(**config.connect_args("raw")) as con:
        con.cursor().executemany(
            "insert into raw.payments (_line, _file_name, _file_row_number, _loaded_at)"
            " values (%s, 'payments/batch.ndjson.gz', %s, current_timestamp())",
            [(line, number) for number, (line, _) in enumerate(LANDED_LINES, start=1)],
        )
    models = ["base_shop__payments", "stg_shop__payments", "qrn_shop__payments",
              "qrn_shop__unloadable_lines"]  # fmt: skip
    build = dbt("run", "--target", "fakesnow", "--select", *models, home=tmp_path, **env)
    assert build.returncode == 0, build.stdout[-3000:]
    with snowflake.connector.connect(**config.connect_args("raw")) as con:
        cursor = con.cursor()
        rejected = cursor.execute(
            "select _file_row_number, load_error_reason from quarantine.qrn_shop__unloadable_lines"
            " where table_name = 'payments' order by 1"
        ).fetchall()
        (staged,) = cursor.execute("select count(*) from staging.base_shop__payments").fetchone()
    expected = [(n, reason) for n, (_, reason) in enumerate(LANDED_LINES, start=1) if reason]
    # fakesnow's TYPEOF names no JSON type: the type after the colon is not compared.
    assert [(int(n), reason.split(":")[0]) for n, reason in rejected] == expected
    assert staged == len(LANDED_LINES) - len(expected) == 2

    # A pull request's build reads the whole landing table, parsed the same way.
    pr = dbt("compile", "--target", "fakesnow", "--select", "base_shop__payments",
             "--vars", '{"pr_schema": "pr_1"}', "--target-path", str(tmp_path / "target-pr"),
             home=tmp_path, **env)  # fmt: skip
    assert pr.returncode == 0, pr.stdout[-2000:]
    compiled = next((tmp_path / "target-pr").rglob("base_shop__payments.sql")).read_text()
    assert "try_parse_json(_line)" in compiled and "__base_shop__payments" not in compiled

    # The embedded engine has no such model: its pipe rejects these lines itself,
    # with the same reasons (invalid UTF-8 as real bytes there; DuckDB names the
    # byte and the JSON type).
    duck = manifest_for("dev", tmp_path, tmp_path)
    assert "model.snowcart.qrn_shop__unloadable_lines" not in duck["nodes"]
    home = tmp_path / "embedded"
    stage_file = home / "stage" / "payments" / "batch-0000000001.ndjson"
    stage_file.parent.mkdir(parents=True)
    stage_file.write_bytes(b"".join(
        line.encode().replace("\ufffd".encode(), b"\xff") + b"\n" for line, _ in LANDED_LINES
    ))  # fmt: skip
    drained = simulate("--events", "0", "--home", str(home))
    assert drained.returncode == 0, drained.stderr + drained.stdout
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        embedded = con.execute(
            "select line_number, regexp_replace(reason, '(: .*| at byte [0-9]+)$', '')"
            " from ops.load_errors order by 1"
        ).fetchall()
    assert embedded == expected


def manifest_for(target: str, home: Path, tmp_path: Path, *args: str, **env: str) -> dict:
    target_path = tmp_path / f"target-{target}"
    result = dbt("parse", "--target", target, "--target-path", str(target_path), *args,
                 home=home, **env)  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    return json.loads((target_path / "manifest.json").read_text())


def test_marts_grant_select_to_the_reporter_role_staging_grants_nothing(tmp_path):
    """One grants config on both engines; DuckDB has no roles and its apply_grants
    is a no-op (macros/engine/grants.sql), which every DuckDB build here runs."""
    snowflake = manifest_for(
        "fakesnow", tmp_path, tmp_path, SNOWCART_REPORTER_ROLE="ANALYST", FAKESNOW_PORT="1"
    )
    duck = manifest_for("dev", tmp_path, tmp_path, SNOWCART_REPORTER_ROLE="ANALYST")
    marts = [
        node for node in snowflake["nodes"].values()
        if node["resource_type"] == "model" and node["config"]["schema"] == "analytics"
    ]  # fmt: skip
    assert len(marts) > 15
    assert all(node["config"]["grants"] == {"select": ["ANALYST"]} for node in marts)
    staging = snowflake["nodes"]["model.snowcart.stg_shop__orders"]
    assert staging["config"]["grants"] == {}
    assert duck["nodes"]["model.snowcart.fct_sales"]["config"]["grants"] == {"select": ["ANALYST"]}


def test_materialized_view_variant_is_valid_snowflake_sql(tmp_path, fakesnow_port):
    target_path = tmp_path / "target"
    result = dbt(
        "compile", "--target", "fakesnow", "--target-path", str(target_path),
        "--vars", "{materialized_view_marts: true}", "--select", "rpt_daily_product_sales_mv",
        home=tmp_path, FAKESNOW_PORT=str(fakesnow_port),
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    compiled = next(target_path.glob("compiled/**/rpt_daily_product_sales_mv.sql")).read_text()
    statement = sqlglot.parse_one(
        f"create or replace materialized view analytics.rpt_daily_product_sales_mv as {compiled}",
        read="snowflake",
    )
    assert statement.kind == "VIEW"
    # Snowflake's rules for materialized views: one table, no joins or windows.
    assert [table.name.lower() for table in statement.find_all(sqlglot.exp.Table)] == [
        "rpt_daily_product_sales_mv", "fct_sales",
    ]  # fmt: skip
    assert not list(statement.find_all(sqlglot.exp.Join))
    assert not list(statement.find_all(sqlglot.exp.Window))
    # Off by default: a plain build does not create it.
    assert (
        "model.snowcart.rpt_daily_product_sales_mv"
        not in manifest_for("fakesnow", tmp_path, tmp_path, FAKESNOW_PORT=str(fakesnow_port))[
            "nodes"
        ]
    )


def test_the_project_parses_as_a_snowflake_dbt_project_object_does(tmp_path):
    """dbt project objects (EXECUTE DBT PROJECT) do not support env_var(): no
    project file calls it, and the project parses with none of our variables
    set and the literal profile docs/snowflake.md gives for them. The marts
    then take the warehouse from that profile and the reporter role from the
    var's default."""
    calls = [
        str(path.relative_to(PROJECT_DIR))
        for folder in ("models", "macros", "snapshots", "seeds", "tests/dbt", "analyses")
        for path in (PROJECT_DIR / folder).rglob("*")
        if path.suffix in (".sql", ".yml", ".yaml") and "env_var(" in path.read_text()
    ]
    assert "env_var(" not in (PROJECT_DIR / "dbt_project.yml").read_text()
    assert calls == []

    profiles = tmp_path / "profiles"
    profiles.mkdir()
    (profiles / "profiles.yml").write_text(
        "snowcart:\n  target: snowflake\n  outputs:\n    snowflake:\n"
        "      type: snowflake\n      account: ''\n      user: ''\n"
        "      role: SNOWCART_TRANSFORMER\n      warehouse: ETL_WH\n"
        "      database: SNOWCART\n      schema: ops\n      threads: 8\n"
    )
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SNOWCART_", "SNOWFLAKE_", "DBT_"))
    }
    target_path = tmp_path / "target"
    result = subprocess.run(
        [str(PROJECT_DIR / ".venv/bin/dbt"), "parse", "--profiles-dir", str(profiles),
         "--target-path", str(target_path), "--log-path", str(tmp_path / "logs")],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    nodes = json.loads((target_path / "manifest.json").read_text())["nodes"]
    mart = nodes["model.snowcart.rpt_daily_sales"]["config"]
    assert mart["snowflake_warehouse"] == "ETL_WH"
    assert mart["grants"] == {"select": ["SNOWCART_REPORTER"]}
    assert mart["meta"]["embedded_target_lag"] == "30 seconds"


# Sub-millisecond apart, whole seconds, trailing zeros: the text and the key
# each must keep apart, written out by hand.
KEY_TIMES = {
    "2026-03-01 12:00:00": "2026-03-01 12:00:00",
    "2026-03-01 12:00:00.0005": "2026-03-01 12:00:00.0005",
    "2026-03-01 12:00:00.0009": "2026-03-01 12:00:00.0009",
    "2026-03-01 12:00:00.120": "2026-03-01 12:00:00.12",
    "2026-03-01 12:00:00.123456": "2026-03-01 12:00:00.123456",
}


def test_version_keys_are_the_same_text_on_both_engines_to_the_microsecond(tmp_path, fakesnow_port):
    """SCD2 version keys hash the version's start. A bare cast to varchar gives
    milliseconds on Snowflake (its TIMESTAMP_OUTPUT_FORMAT default; fakesnow,
    running on DuckDB, cannot show it) and microseconds on DuckDB, so keys
    differ by engine and versions under 1 ms apart collide: the dims format
    the time explicitly, and both engines give the text above and its md5."""
    dims = {"dim_customers": "customer_id", "dim_products": "product_id"}
    for dim, compiled in compiled_sql(list(dims), tmp_path, fakesnow_port).items():
        column = dims[dim]
        assert f"coalesce(cast({column} as varchar), '')" in compiled
        assert "cast(dbt_valid_from as varchar)" not in compiled
        assert "to_char(dbt_valid_from, 'YYYY-MM-DD HH24:MI:SS.FF6')" in compiled
    selects = ", ".join(
        f"""{{{{ timestamp_text("cast('{moment}' as timestamp)") }}}} as t{number},
        {{{{ surrogate_key(["'C1'", timestamp_text("cast('{moment}' as timestamp)")]) }}}}
        as k{number}"""
        for number, moment in enumerate(KEY_TIMES)
    )
    expected = {}
    for number, text in enumerate(KEY_TIMES.values()):
        expected[f"t{number}"] = text
        expected[f"k{number}"] = hashlib.md5(f"C1|{text}".encode()).hexdigest()
    for target in ("dev", "fakesnow"):
        shown = dbt("show", "--quiet", "--output", "json", "--target", target,
                    "--inline", f"select {selects}", home=tmp_path,
                    FAKESNOW_PORT=str(fakesnow_port))  # fmt: skip
        assert shown.returncode == 0, shown.stdout[-2000:]
        [row] = json.loads(shown.stdout[shown.stdout.index("{") :])["show"]
        assert {key.lower(): value for key, value in row.items()} == expected, target


def compiled_sql(models: list[str], home: Path, fakesnow_port: int) -> dict[str, str]:
    """Each model's SQL as dbt-snowflake compiles it."""
    target_path = home / "target-compiled"
    result = dbt("compile", "--target", "fakesnow", "--select", *models, "--target-path",
                 str(target_path), home=home, FAKESNOW_PORT=str(fakesnow_port))  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:]
    return {
        model: next(target_path.glob(f"compiled/**/{model}.sql")).read_text() for model in models
    }
