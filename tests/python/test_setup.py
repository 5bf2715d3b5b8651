"""scripts/setup.py as a user runs it: the Snowflake SQL it prints (parsed with
sqlglot, checked for least privilege and idempotency), the part of it fakesnow can
run, the embedded (DuckDB) setup, and its one-line errors."""

from __future__ import annotations

import re
import sys

import duckdb
import pytest
import snowflake.connector
import sqlglot
import yaml
from conftest import PROJECT_DIR, dbt, run
from sqlglot import exp

from snowcart.engines.base import S3Ingest, SetupOptions
from snowcart.engines.snowflake import templates
from snowcart.errors import ConfigError
from snowcart.settings import landing_tables, stream_consumers

NO_SNOWFLAKE_ENV = {
    name: ""
    for name in (
        "SNOWFLAKE_ACCOUNT",
        "SNOWFLAKE_USER",
        "SNOWFLAKE_PASSWORD",
        "SNOWFLAKE_PRIVATE_KEY_PATH",
        "SNOWFLAKE_DATABASE",
        "SNOWFLAKE_WAREHOUSE",
        "SNOWFLAKE_SETUP_ROLE",
    )
}
S3_FLAGS = [
    "--s3-url",
    "s3://snowcart-landing/events/",
    "--storage-integration",
    "SNOWCART_S3",
    "--aws-role-arn",
    "arn:aws:iam::123456789012:role/snowcart-ingest",
]
LANDING_COLUMNS = ["payload", "_file_name", "_file_row_number", "_loaded_at", "_line"]
# What a pipe fills: each line as text, and where and when it came from.
COPIED_COLUMNS = ["_line", "_file_name", "_file_row_number", "_loaded_at"]

# Statement kinds, recognised from the SQL text alone (anything else fails the test).
KINDS = [
    ("use role", r"USE ROLE \w+"),
    ("warehouse", r"CREATE WAREHOUSE IF NOT EXISTS \w+ .*"),
    ("resource monitor", r"CREATE RESOURCE MONITOR IF NOT EXISTS \w+ WITH .*CREDIT_QUOTA = \d+.*"),
    ("attach monitor", r"ALTER WAREHOUSE \w+ SET RESOURCE_MONITOR = \w+"),
    ("database", r"CREATE DATABASE IF NOT EXISTS \w+"),
    ("schema", r"CREATE SCHEMA IF NOT EXISTS \w+\.\w+"),
    ("file format", r"CREATE FILE FORMAT IF NOT EXISTS .*"),
    ("stage", r"CREATE STAGE IF NOT EXISTS .*"),
    ("table", r"CREATE TABLE IF NOT EXISTS .*"),
    ("add column", r"ALTER TABLE [\w.]+ ADD COLUMN IF NOT EXISTS \w+ \w+"),
    ("pipe", r"CREATE PIPE IF NOT EXISTS .*"),
    ("stream", r"CREATE STREAM IF NOT EXISTS .*"),
    ("task", r"CREATE TASK IF NOT EXISTS .*"),
    ("storage integration", r"CREATE STORAGE INTEGRATION IF NOT EXISTS .*"),
    ("role", r"CREATE ROLE IF NOT EXISTS \w+"),
    ("role grant", r"GRANT ROLE \w+ TO ROLE \w+"),
    ("grant", r"GRANT .+ ON .+ TO ROLE \w+"),
]
GRANT = re.compile(r"^GRANT (?P<privileges>.+?) ON (?P<on>.+) TO ROLE (?P<role>\w+)$", re.S)

# What fakesnow 0.12 runs, tried statement by statement: everything else in the
# script is a parser error there (checked below, so this list cannot go stale).
FAKESNOW_KINDS = ("use role", "database", "schema", "file format", "stage", "table", "add column")
NOT_IN_FAKESNOW = (
    "warehouse",
    "resource monitor",
    "attach monitor",
    "role",
    "role grant",
    "grant",
    "pipe",
    "stream",
    "task",
    "storage integration",
)


def setup(*args: str, **env: str):
    return run([sys.executable, "scripts/setup.py", *args], timeout=120, **env)


def statements(script: str) -> list[str]:
    """Split on the `;` ending each statement, leaving out the `--` comment lines."""
    code = "\n".join(line for line in script.splitlines() if not line.startswith("--"))
    return [part.strip() for part in code.split(";") if part.strip()]


def kind_of(statement: str) -> str:
    flat = " ".join(statement.split())
    for kind, pattern in KINDS:
        if re.fullmatch(pattern, flat, re.S):
            return kind
    raise AssertionError(f"statement of unknown kind: {statement}")


def by_kind(script: str) -> dict[str, list[str]]:
    kinds: dict[str, list[str]] = {}
    for statement in statements(script):
        kinds.setdefault(kind_of(statement), []).append(statement)
    return kinds


@pytest.fixture(scope="module")
def script() -> str:
    result = setup("--target", "snowflake", "--dry-run", **NO_SNOWFLAKE_ENV)
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def s3_script() -> str:
    result = setup("--target", "snowflake", "--dry-run", *S3_FLAGS, **NO_SNOWFLAKE_ENV)
    assert result.returncode == 0, result.stderr
    return result.stdout


# --------------------------------------------------------------------------- the SQL


@pytest.mark.parametrize("variant", ["internal stage", "with S3"])
def test_every_statement_parses_as_snowflake_sql(variant, script, s3_script):
    text = script if variant == "internal stage" else s3_script
    parsed = [
        node
        for node in sqlglot.parse(text, read="snowflake")
        if node is not None and not isinstance(node, exp.Semicolon)  # trailing comments
    ]
    split = statements(text)
    assert len(parsed) == len(split)  # every statement ends with its own `;`
    assert text.rstrip().splitlines()[-1].startswith("--")  # nothing after the last `;`
    for statement in split:
        node = sqlglot.parse_one(statement, read="snowflake")
        assert isinstance(node, exp.Expression), statement

    kinds = by_kind(text)
    tables = landing_tables()
    consumers = stream_consumers()
    expected = {
        "warehouse": 1,
        "resource monitor": 1,
        "attach monitor": 1,
        "database": 1,
        "file format": 2,
        "table": len(tables),
        "add column": len(tables),
        # file pipes (internal stage, S3), and for Kafka a streaming and a connector pipe
        "pipe": len(tables) * (4 if variant == "with S3" else 3),
        "stream": sum(len(models) for models in consumers.values()),
        "task": len(consumers),
        "role": 3,
        "role grant": 3,
        "stage": 2 if variant == "with S3" else 1,
        "storage integration": 1 if variant == "with S3" else 0,
    }
    assert {kind: len(kinds.get(kind, [])) for kind in expected} == expected
    assert len(kinds["schema"]) >= 5 and len(kinds["grant"]) > 20
    assert len(split) == sum(len(group) for group in kinds.values())
    schemas = {s.split(".")[-1] for s in kinds["schema"]}
    assert {"raw", "staging", "analytics", "reference", "ops"} <= schemas


def test_structured_statements_parse_into_their_own_nodes(script):
    """sqlglot knows these kinds: they must come back as real nodes, not a Command."""
    kinds = by_kind(script)
    for kind, sqlglot_kind in [
        ("warehouse", "WAREHOUSE"),
        ("database", "DATABASE"),
        ("schema", "SCHEMA"),
        ("file format", "FILE FORMAT"),
        ("stage", "STAGE"),
        ("table", "TABLE"),
    ]:
        for statement in kinds[kind]:
            node = sqlglot.parse_one(statement, read="snowflake")
            assert isinstance(node, exp.Create), statement
            assert node.args["kind"] == sqlglot_kind and node.args.get("exists"), statement


def test_landing_tables_match_the_dbt_macro(script):
    macro = (PROJECT_DIR / "macros/engine/landing_tables.sql").read_text()
    body = macro[macro.index("create table if not exists") :]
    macro_columns = re.findall(r"^\s+(\w+) ", body[body.index("(") : body.index(");")], re.M)
    assert macro_columns == LANDING_COLUMNS
    for statement in by_kind(script)["table"]:
        node = sqlglot.parse_one(statement, read="snowflake")
        columns = [(c.name, c.args["kind"].sql("snowflake")) for c in node.find_all(exp.ColumnDef)]
        assert columns == [
            ("payload", "VARIANT"),
            ("_file_name", "VARCHAR"),
            ("_file_row_number", "DECIMAL(38, 0)"),  # NUMBER
            ("_loaded_at", "TIMESTAMPNTZ"),
            ("_line", "VARCHAR"),
        ]


def test_pipes_copy_with_file_metadata_and_continue_on_error(s3_script):
    pipes = by_kind(s3_script)["pipe"]
    for table in landing_tables():
        for suffix, stage, auto_ingest in [
            ("_pipe", "landing", False),
            ("_s3_pipe", "landing_s3", True),
        ]:
            [pipe] = [
                p
                for p in pipes
                if p.startswith(f"CREATE PIPE IF NOT EXISTS SNOWCART.raw.{table}{suffix} ")
            ]
            assert ("AUTO_INGEST = TRUE" in pipe) == auto_ingest
            # sqlglot keeps CREATE PIPE as a Command; the COPY inside parses for real.
            assert isinstance(sqlglot.parse_one(pipe, read="snowflake"), exp.Command)
            copy = sqlglot.parse_one(pipe[pipe.index("COPY INTO") :], read="snowflake")
            assert isinstance(copy, exp.Copy)
            assert copy.this.this.sql() == f"SNOWCART.raw.{table}"
            assert [c.name for c in copy.this.expressions] == COPIED_COLUMNS
            select = copy.find(exp.Select)
            assert [e.sql("snowflake") for e in select.expressions] == [
                "$1",
                "METADATA$FILENAME",
                "METADATA$FILE_ROW_NUMBER",
                "CAST(CONVERT_TIMEZONE('UTC', METADATA$START_SCAN_TIME) AS TIMESTAMPNTZ)",
            ]
            assert f"FROM @SNOWCART.raw.{stage}/{table}/" in pipe
            params = {p.this.name.upper(): p for p in copy.args["params"]}
            assert params["ON_ERROR"].expression.name.upper() == "CONTINUE"
            assert "FORMAT_NAME='SNOWCART.raw.ndjson_lines_format'" in params["FILE_FORMAT"].sql(
                "snowflake"
            )


def test_streams_one_per_table_and_consumer(script):
    streams = by_kind(script)["stream"]
    expected = {
        f"CREATE STREAM IF NOT EXISTS SNOWCART.raw.{table}__{model} "
        f"ON TABLE SNOWCART.raw.{table} APPEND_ONLY = TRUE"
        for table, models in stream_consumers().items()
        for model in models
    }
    assert {" ".join(s.split()) for s in streams} == expected
    assert "CREATE STREAM IF NOT EXISTS SNOWCART.raw.orders__base_shop__orders " in " ".join(
        " ".join(s.split()) for s in streams
    )


def test_tasks_are_triggered_by_their_streams_and_run_the_dbt_project(script):
    kinds = by_kind(script)
    stream_names = {s.split()[5] for s in kinds["stream"]}
    for table, models in stream_consumers().items():
        [task] = [t for t in kinds["task"] if f".{table}_task" in t.split("\n")[0]]
        flat = " ".join(task.split())
        assert isinstance(sqlglot.parse_one(task, read="snowflake"), exp.Command)
        assert "WAREHOUSE = SNOWCART_WH" in flat and "SCHEDULE" not in flat  # triggered task
        when = sqlglot.parse_one(flat[flat.index(" WHEN ") + 6 : flat.index(" AS ")], "snowflake")
        calls = list(when.find_all(exp.Anonymous))
        assert {c.name.upper() for c in calls} == {"SYSTEM$STREAM_HAS_DATA"}
        named = {c.expressions[0].name for c in calls}
        assert named == {f"SNOWCART.raw.{table}__{model}" for model in models} <= stream_names
        body = sqlglot.parse_one(flat[flat.index(" AS ") + 4 :], read="snowflake")
        # sqlglot has no EXECUTE DBT PROJECT: it must still come back as a Command.
        assert isinstance(body, exp.Command) and body.this.upper() == "EXECUTE"
        project = f"SNOWCART.ops.snowcart_dbt_{table}"  # one object per task: no concurrency
        assert body.expression.name.startswith(f"DBT PROJECT {project} ARGS = '")
        assert flat.startswith(f"CREATE TASK IF NOT EXISTS SNOWCART.ops.{table}_task ")
        assert re.search(
            r"ARGS = 'build --select (\S+\+ ?)+ --exclude tag:at_rest --target snowflake'$", flat
        )
    # Created suspended: resuming is left to the user, as a comment.
    assert re.search(r"^-- ALTER TASK SNOWCART\.ops\.\w+_task RESUME;$", script, re.M)
    assert not any(s.startswith("ALTER TASK") for s in statements(script))


def test_tasks_select_no_test_that_fails_while_data_streams(script, tmp_path):
    """A task whose build fails three times suspends itself. The at_rest tests
    compare marts with facts they lag behind, so no task may select one: dbt's
    own selector, run with every task's --select and --exclude, finds none of
    the tests tagged at_rest (on the old tasks: every one downstream of a
    stream consumer)."""
    selections, exclusions = [], set()
    for task in by_kind(script)["task"]:
        args = re.search(r"ARGS = 'build --select (.*?)( --exclude (.*))? --target snowflake'",
                         " ".join(task.split()))  # fmt: skip
        selections += args.group(1).split()
        exclusions.add(args.group(3))
    # One dbt ls for all tasks: with one --exclude, (A - E) | (B - E) = (A | B) - E.
    [exclusion] = exclusions
    listed = dbt("ls", "--resource-type", "test", "--output", "name", "--quiet",
                 "--select", *selections, *(["--exclude", exclusion] if exclusion else []),
                 home=tmp_path)  # fmt: skip
    assert listed.returncode == 0, listed.stdout
    selected = set(listed.stdout.split())
    at_rest = dbt("ls", "--select", "tag:at_rest", "--output", "name", "--quiet", home=tmp_path)
    assert selected and len(set(at_rest.stdout.split())) >= 2
    assert not selected & set(at_rest.stdout.split())


def test_s3_adds_integration_stage_and_how_to_get_the_notification_channel(s3_script):
    kinds = by_kind(s3_script)
    [integration] = kinds["storage integration"]
    node = sqlglot.parse_one(integration, read="snowflake")
    assert isinstance(node, exp.Create) and node.args["kind"] == "STORAGE INTEGRATION"
    flat = " ".join(integration.split())
    for part in (
        "TYPE = EXTERNAL_STAGE",
        "STORAGE_PROVIDER = 'S3'",
        "ENABLED = TRUE",
        "STORAGE_AWS_ROLE_ARN = 'arn:aws:iam::123456789012:role/snowcart-ingest'",
        "STORAGE_ALLOWED_LOCATIONS = ('s3://snowcart-landing/events/')",
    ):
        assert part in flat
    [s3_stage] = [s for s in kinds["stage"] if "landing_s3" in s]
    assert "URL = 's3://snowcart-landing/events/' STORAGE_INTEGRATION = SNOWCART_S3" in s3_stage
    assert re.search(
        r"^-- SHOW PIPES IN SCHEMA SNOWCART\.raw;.*notification_channel", s3_script, re.M
    )


def test_dry_run_takes_names_from_the_environment():
    result = setup(
        "--target",
        "snowflake",
        "--dry-run",
        **{**NO_SNOWFLAKE_ENV, "SNOWFLAKE_DATABASE": "SHOP_PROD", "SNOWFLAKE_WAREHOUSE": "ETL_WH"},
    )
    assert result.returncode == 0, result.stderr
    assert "CREATE DATABASE IF NOT EXISTS SHOP_PROD;" in result.stdout
    assert "CREATE WAREHOUSE IF NOT EXISTS ETL_WH " in result.stdout
    assert "SNOWCART." not in result.stdout


# --------------------------------------------------------------------------- privileges


def grants(script: str) -> list[dict[str, str]]:
    found = []
    for statement in by_kind(script)["grant"]:
        match = GRANT.match(" ".join(statement.split()))
        assert match, statement
        found.append(match.groupdict())
    return found


@pytest.mark.parametrize("variant", ["internal stage", "with S3"])
def test_least_privilege(variant, script, s3_script):
    text = script if variant == "internal stage" else s3_script
    every = grants(text)
    reporter = [g for g in every if g["role"] == "SNOWCART_REPORTER"]
    loader = [g for g in every if g["role"] == "SNOWCART_LOADER"]
    transformer = [g for g in every if g["role"] == "SNOWCART_TRANSFORMER"]
    assert reporter and loader and transformer

    forbidden = {"INSERT", "UPDATE", "DELETE", "TRUNCATE", "CREATE", "OWNERSHIP", "ALL"}
    forbidden |= {"WRITE", "MODIFY", "OPERATE", "APPLY", "MANAGE", "EXECUTE", "REFERENCES"}
    for grant in reporter:
        words = set(re.findall(r"[A-Z]+", grant["privileges"].upper()))
        assert not words & forbidden, grant
        assert words <= {"USAGE", "SELECT"}, grant
        assert not re.search(r"\.(raw|staging|reference|ops)\b", grant["on"], re.I), grant
    assert {g["on"] for g in reporter if g["privileges"] == "SELECT"} == {
        f"{scope} {kind} IN SCHEMA SNOWCART.analytics"
        for scope in ("ALL", "FUTURE")
        for kind in ("TABLES", "VIEWS", "DYNAMIC TABLES")
    }
    # Nothing reaches the reporter through a role either.
    assert not [s for s in by_kind(text)["role grant"] if s.endswith("TO ROLE SNOWCART_REPORTER")]

    for grant in loader:
        assert not re.search(r"analytics|staging|reference|\.ops\b", grant["on"], re.I), grant
        assert re.match(r"(WAREHOUSE|DATABASE) \w+$|.*SNOWCART\.raw\b", grant["on"]), grant
    assert {"on": "STAGE SNOWCART.raw.landing", "privileges": "READ, WRITE"} in [
        {k: g[k] for k in ("on", "privileges")} for g in loader
    ]
    pipes = {g["on"] for g in loader if g["privileges"] == "OPERATE, MONITOR"}
    assert pipes == {
        f"PIPE SNOWCART.raw.{table}{suffix}"
        for table in landing_tables()
        for suffix in (["_pipe", "_s3_pipe"] if variant == "with S3" else ["_pipe"])
    }

    # The transformer only reads raw (tables and the streams it consumes).
    on_raw = [g for g in transformer if re.search(r"SNOWCART\.raw\b", g["on"])]
    assert {g["privileges"] for g in on_raw} == {"USAGE", "SELECT"}
    assert {"ALL STREAMS IN SCHEMA SNOWCART.raw", "FUTURE STREAMS IN SCHEMA SNOWCART.raw"} <= {
        g["on"] for g in on_raw
    }


@pytest.mark.parametrize("variant", ["internal stage", "with S3"])
def test_never_drops_or_replaces(variant, script, s3_script):
    text = script if variant == "internal stage" else s3_script
    for statement in statements(text):
        flat = " ".join(statement.split()).upper()
        assert not re.search(r"\b(DROP|TRUNCATE|DELETE|REPLACE|UNDROP|SWAP)\b", flat), statement
        assert "CREATE OR " not in flat, statement
        if flat.startswith("CREATE "):
            assert " IF NOT EXISTS " in flat, statement


# --------------------------------------------------------------------------- fakesnow


def fakesnow_connect(port: int, **kwargs):
    # A short network timeout: a fakesnow internal error is an HTTP 500 the
    # connector would otherwise retry for minutes.
    return snowflake.connector.connect(
        account="fakesnow",
        user="fake",
        password="snow",
        host="localhost",
        port=port,
        protocol="http",
        network_timeout=20,
        **kwargs,
    )


def test_what_fakesnow_can_run_works_and_is_idempotent(fakesnow_port, script, s3_script, tmp_path):
    kinds = {**by_kind(script), "storage integration": by_kind(s3_script)["storage integration"]}
    runnable = [s for s in statements(script) if kind_of(s) in FAKESNOW_KINDS]
    assert {kind_of(s) for s in runnable} == set(FAKESNOW_KINDS)

    with fakesnow_connect(fakesnow_port) as con:
        cursor = con.cursor()
        for _ in range(2):  # idempotent: the second run changes nothing
            for statement in runnable:
                cursor.execute(statement)
        # The boundary of fakesnow, so FAKESNOW_KINDS stays honest.
        for kind in NOT_IN_FAKESNOW:
            with pytest.raises(snowflake.connector.errors.ProgrammingError):
                cursor.execute(kinds[kind][0])

    events = tmp_path / "orders-0001.ndjson"
    events.write_text(
        "".join(f'{{"event_id": "e{i}", "order_id": "o{i}"}}\n' for i in range(1, 4)),
        encoding="utf-8",
    )
    with fakesnow_connect(fakesnow_port, database="SNOWCART", schema="RAW") as con:
        cursor = con.cursor()
        [put] = cursor.execute(
            f"PUT 'file://{events.as_posix()}' @SNOWCART.raw.landing/orders/ "
            "AUTO_COMPRESS = TRUE OVERWRITE = FALSE"
        ).fetchall()
        assert put[6] == "UPLOADED"
        # fakesnow's COPY reads JSON as one VARIANT column, supports neither the
        # transform SELECT nor a column list for JSON, and only ON_ERROR =
        # ABORT_STATEMENT: the closest it runs is a plain COPY with the created
        # named file format, into a single-VARIANT table (test scaffolding only).
        cursor.execute("CREATE TABLE SNOWCART.raw.orders_copy_probe (payload VARIANT)")
        copy = (
            "COPY INTO SNOWCART.raw.orders_copy_probe FROM @SNOWCART.raw.landing/orders/ "
            "FILE_FORMAT = (FORMAT_NAME = 'SNOWCART.raw.ndjson_format')"
        )
        [first] = cursor.execute(copy).fetchall()
        assert (first[1], first[3]) == ("LOADED", 3)
        [again] = cursor.execute(copy).fetchall()  # load metadata: a file loads once
        assert again[1] == "LOAD_SKIPPED"
        cursor.execute(
            "INSERT INTO SNOWCART.raw.orders (payload, _file_name, _file_row_number, _loaded_at) "
            "SELECT payload, 'orders/orders-0001.ndjson.gz', 1, CURRENT_TIMESTAMP()::TIMESTAMP_NTZ "
            "FROM SNOWCART.raw.orders_copy_probe"
        )

    with fakesnow_connect(fakesnow_port) as con:  # a third run keeps data and files
        cursor = con.cursor()
        for statement in runnable:
            cursor.execute(statement)
        rows = cursor.execute(
            "SELECT payload:order_id::VARCHAR FROM SNOWCART.raw.orders ORDER BY 1"
        ).fetchall()
        assert [row[0] for row in rows] == ["o1", "o2", "o3"]
        listed = cursor.execute("LIST @SNOWCART.raw.landing").fetchall()
        assert [row[0] for row in listed] == ["landing/orders/orders-0001.ndjson.gz"]


# --------------------------------------------------------------------------- dev target


def duckdb_tables(path) -> dict[str, list[str]]:
    with duckdb.connect(str(path), read_only=True) as con:
        rows = con.execute(
            "select table_schema || '.' || table_name, column_name from information_schema.columns"
            " order by table_schema, table_name, ordinal_position"
        ).fetchall()
    tables: dict[str, list[str]] = {}
    for table, column in rows:
        tables.setdefault(table, []).append(column)
    return tables


def test_dev_setup_creates_the_embedded_counterparts_twice(tmp_path):
    home = tmp_path / "home"
    dry = setup("--target", "dev", "--home", str(home), "--dry-run")
    assert dry.returncode == 0, dry.stderr
    assert "would create table raw.orders" in dry.stdout
    assert "would create table ops.load_history" in dry.stdout
    assert not home.exists()

    first = setup("--target", "dev", "--home", str(home))
    assert first.returncode == 0, first.stderr + first.stdout
    assert "created table raw.orders" in first.stdout
    assert "created table ops.load_history" in first.stdout
    tables = duckdb_tables(home / "warehouse.duckdb")
    assert tables["raw.orders"] == LANDING_COLUMNS
    assert "ops.load_history" in tables and "ops.load_errors" in tables

    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("insert into raw.orders (payload, _file_name) values ('{}', 'kept.ndjson')")
    second = setup("--target", "dev", "--home", str(home))
    assert second.returncode == 0, second.stderr + second.stdout
    assert "exists  table raw.orders" in second.stdout
    assert "0 created" in second.stdout
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        assert con.execute("select _file_name from raw.orders").fetchall() == [("kept.ndjson",)]


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    "args, message",
    [
        (["--target", "dev", "--bogus"], "unrecognized arguments: --bogus"),
        ([], "the following arguments are required: --target"),
        (["--target", "duckdb"], "--target: invalid choice"),
        (["--target", "snowflake", "--credit-quota", "0"], "--credit-quota: must be >= 1"),
        (["--target", "snowflake", "--s3-url", "s3://b-1/x/"], "S3 auto-ingest also needs"),
        (["--target", "dev", "--storage-integration", "X"], "only applies to --target snowflake"),
        (["--target", "snowflake", "--home", "/tmp"], "--home only applies to --target dev"),
        ([*S3_FLAGS[:5], "arn:aws:iam::1:role/x", "--target", "snowflake"], "--aws-role-arn"),
    ],
)
def test_bad_flags_give_one_line_and_exit_2(args, message):
    result = setup(*args)
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_snowflake_without_settings_is_a_one_line_error():
    result = setup("--target", "snowflake", **NO_SNOWFLAKE_ENV)
    assert result.returncode == 1
    assert result.stderr.startswith("error: missing Snowflake setting(s)")
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stdout == ""


# --------------------------------------------------------------------------- consumers


def project_with_vars(folder, **changes):
    """A copy of dbt_project.yml in `folder` with some vars changed (None: removed)."""
    folder.mkdir()
    project = yaml.safe_load((PROJECT_DIR / "dbt_project.yml").read_text())
    for name, value in changes.items():
        project["vars"].pop(name, None)
        if value is not None:
            project["vars"][name] = value
    (folder / "dbt_project.yml").write_text(yaml.safe_dump(project))
    return folder


def test_stream_consumers_default_and_configured(tmp_path):
    default = project_with_vars(tmp_path / "default", stream_consumers=None)
    assert stream_consumers(default) == {"orders": ["base_shop__orders", "base_shop__order_lines"]}

    configured = project_with_vars(
        tmp_path / "configured",
        landing_tables=["orders", "payments"],
        stream_consumers={"orders": ["stg_shop__orders"], "payments": ["stg_shop__payments"]},
    )
    assert stream_consumers(configured) == {
        "orders": ["stg_shop__orders"],
        "payments": ["stg_shop__payments"],
    }

    unknown = project_with_vars(tmp_path / "unknown", stream_consumers={"refunds": ["stg_x"]})
    with pytest.raises(ConfigError, match="'refunds', which is not in landing_tables"):
        stream_consumers(unknown)

    bad_model = project_with_vars(tmp_path / "bad_model", stream_consumers={"orders": ["x; drop"]})
    with pytest.raises(ConfigError, match="stream consumer model 'x; drop' is not a plain"):
        stream_consumers(bad_model)

    not_a_map = project_with_vars(tmp_path / "not_a_map", stream_consumers=["orders"])
    with pytest.raises(ConfigError, match="must map a landing table to a list of models"):
        stream_consumers(not_a_map)


# --------------------------------------------------------------------------- templating


def test_templates_take_only_names_numbers_and_rendered_sql():
    schema = templates.statement("schema", schema="SNOWCART.raw")
    assert schema == "CREATE SCHEMA IF NOT EXISTS SNOWCART.raw"
    monitor = templates.statements("resource_monitor", monitor="M", credit_quota=3, warehouse="W")
    assert monitor[1] == "ALTER WAREHOUSE W SET RESOURCE_MONITOR = M"
    for bad in ["SNOWCART; DROP DATABASE x", "a b", "'quoted'", "1st", "", True, 1.5]:
        with pytest.raises(ConfigError, match="is not a plain Snowflake name"):
            templates.statement("schema", schema=bad)
    # A quoted literal escapes its quotes; a fragment goes in as it is.
    assert templates.literal("it's") == "'it''s'"
    when = templates.fragment("stream_has_data", stream="DB.raw.orders__m")
    assert when == "SYSTEM$STREAM_HAS_DATA('DB.raw.orders__m')"
    assert isinstance(when, templates.Sql)


def test_setup_options_check_what_goes_into_sql():
    s3 = S3Ingest("s3://snowcart-landing/events", "SNOWCART_S3", S3_FLAGS[5])
    assert s3.url == "s3://snowcart-landing/events/"
    for url, integration, arn, message in [
        ("http://x/", "S3", S3_FLAGS[5], "not an s3://bucket/prefix/ URL"),
        (S3_FLAGS[1], "S3'; --", S3_FLAGS[5], "storage integration"),
        (S3_FLAGS[1], "S3", "arn:aws:iam::1:role/x", "not an IAM role ARN"),
    ]:
        with pytest.raises(ConfigError, match=message):
            S3Ingest(url, integration, arn)
    with pytest.raises(ConfigError, match="credit quota must be >= 1"):
        SetupOptions(credit_quota=0)


# --------------------------------------------------------------------------- running


class RecordingConnection:
    """Stands in for a Snowflake connection: records what setup executes."""

    def __init__(self, executed: list[str], stop_after: int | None, stop) -> None:
        self.executed, self.stop_after, self.stop = executed, stop_after, stop
        self.description = [("name",), ("notification_channel",)]

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        pass

    def cursor(self):
        return self

    def execute(self, sql: str):
        self.executed.append(sql)
        if self.stop_after is not None and len(self.executed) >= self.stop_after:
            self.stop.set()
        return self

    def fetchone(self):
        return None

    def fetchall(self):
        return [("ORDERS_S3_PIPE", "arn:aws:sqs:eu-west-1:123456789012:sf-snowpipe")]


@pytest.mark.parametrize("stop_after", [None, 3])
def test_setup_runs_the_printed_statements_in_order(monkeypatch, capsys, s3_script, stop_after):
    import threading

    from snowcart.engines import engine_for
    from snowcart.engines.snowflake import connection
    from snowcart.settings import Settings

    for name, value in {
        **NO_SNOWFLAKE_ENV,
        "SNOWFLAKE_ACCOUNT": "a",
        "SNOWFLAKE_USER": "u",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SNOWFLAKE_PASSWORD", "p")
    executed: list[str] = []
    stop = threading.Event()
    opened = []

    def fake_connect(config, **kwargs):
        opened.append((config.role, kwargs))
        return RecordingConnection(executed, stop_after, stop)

    monkeypatch.setattr(connection, "connect", fake_connect)
    s3 = S3Ingest(S3_FLAGS[1], S3_FLAGS[3], S3_FLAGS[5])
    finished = engine_for(Settings.locate("snowflake")).setup(SetupOptions(s3=s3), stop)
    out = capsys.readouterr().out
    assert opened == [("SYSADMIN", {"qualified_names_only": True})]
    expected = statements(s3_script)
    if stop_after is None:
        assert finished
        assert executed[:-1] == expected and executed[-1] == "SHOW PIPES IN SCHEMA SNOWCART.raw"
        assert f"snowcart setup: {len(expected)} statements succeeded" in out
        assert "    arn:aws:sqs:eu-west-1:123456789012:sf-snowpipe" in out
        assert "    ALTER TASK SNOWCART.ops.orders_task RESUME;" in out
    else:
        assert not finished and executed == expected[:stop_after]
        assert "stopped; run it again to finish" in out
    assert f"  [1/{len(expected)}] USE ROLE SYSADMIN: ok" in out
    assert f"  [2/{len(expected)}] CREATE WAREHOUSE IF NOT EXISTS SNOWCART_WH: ok" in out
