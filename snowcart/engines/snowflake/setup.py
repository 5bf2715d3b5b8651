"""`scripts/setup.py`: create what the pipeline needs, on either target. Idempotent.

`--target dev` creates the embedded counterparts in the DuckDB file under the
home folder (landing tables through dbt, the pipe's load metadata).

`--target snowflake` renders an ordered list of Snowflake statements (warehouse,
resource monitor, database and schemas, file format, stage, landing tables,
pipes, streams, roles, grants, tasks, and optionally an S3 storage integration
with auto-ingest pipes) and executes them with the connector, or prints them
with `--dry-run`. Every statement is `CREATE … IF NOT EXISTS`, `GRANT` or an
`ALTER … SET`: running setup again never drops or replaces anything.
See docs/snowflake.md.
"""

from __future__ import annotations

import argparse
import os
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from snowcart.cli import OneLineParser, run_guarded
from snowcart.errors import ConfigError, SnowcartError
from snowcart.settings import (
    DEFAULT_HOME,
    PROJECT_DIR,
    Settings,
    landing_tables,
    project_vars,
    raw_schema,
)

# Roles Snowflake requires for some statements: only account administrators
# create resource monitors and integrations and grant EXECUTE TASK; USERADMIN
# creates roles; SECURITYADMIN (MANAGE GRANTS) grants privileges, future ones too.
ACCOUNTADMIN = "ACCOUNTADMIN"
USERADMIN = "USERADMIN"
SECURITYADMIN = "SECURITYADMIN"
SYSADMIN = "SYSADMIN"

LOADER = "SNOWCART_LOADER"
TRANSFORMER = "SNOWCART_TRANSFORMER"
REPORTER = "SNOWCART_REPORTER"

OPS_SCHEMA = "ops"
REPORTING_SCHEMA = "analytics"
STAGE = "landing"
S3_STAGE = "landing_s3"
FILE_FORMAT = "ndjson_format"
RESOURCE_MONITOR = "SNOWCART_MONITOR"
# dbt project objects (dbt Projects on Snowflake): one per task, <prefix>_<table>,
# because Snowflake does not support concurrent EXECUTE DBT PROJECT on one object.
DBT_PROJECT_PREFIX = "snowcart_dbt"
DEFAULT_CREDIT_QUOTA = 10
DEFAULT_STREAM_CONSUMERS = {"orders": ["base_shop__orders", "base_shop__order_lines"]}

IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_$]*$")
S3_URL = re.compile(r"^s3://[a-z0-9][a-z0-9.\-]{1,61}[a-z0-9](/[A-Za-z0-9!\-_.*()/]*)?$")
AWS_ROLE_ARN = re.compile(r"^arn:aws[a-z\-]*:iam::\d{12}:role/[A-Za-z0-9+=,.@_/\-]+$")


# --------------------------------------------------------------------------- config


def identifier(value: str, what: str) -> str:
    if not IDENTIFIER.match(value or ""):
        raise ConfigError(f"{what} {value!r} is not a plain Snowflake identifier")
    return value


def dbt_custom_schemas(project_dir: Path = PROJECT_DIR) -> list[str]:
    """The `+schema:` names configured in dbt_project.yml (models, seeds, snapshots),
    in file order: generate_schema_name uses them as-is."""
    with open(project_dir / "dbt_project.yml", encoding="utf-8") as handle:
        project = yaml.safe_load(handle)
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            for key, value in node.items():
                if key == "+schema" and isinstance(value, str) and value not in found:
                    found.append(value)
                else:
                    walk(value)

    for section in ("models", "seeds", "snapshots"):
        walk(project.get(section) or {})
    return found


def stream_consumers(project_dir: Path = PROJECT_DIR) -> dict[str, list[str]]:
    """Landing table -> the dbt models that consume it through a stream of their own.

    From the dbt var `stream_consumers`; without it, the default slice
    (orders read by base_shop__orders and base_shop__order_lines). Each consumer
    needs its own stream: consuming a stream in one model's DML advances its
    offset for every reader of that stream."""
    tables = landing_tables(project_dir)
    configured = project_vars(project_dir).get("stream_consumers")
    if configured is None:
        return {t: list(m) for t, m in DEFAULT_STREAM_CONSUMERS.items() if t in tables}
    if not isinstance(configured, dict):
        raise ConfigError("dbt var stream_consumers must map a landing table to a list of models")
    consumers: dict[str, list[str]] = {}
    for table, models in configured.items():
        if table not in tables:
            raise ConfigError(
                f"dbt var stream_consumers names {table!r}, which is not in landing_tables"
            )
        if isinstance(models, str) or not isinstance(models, list):
            raise ConfigError(f"dbt var stream_consumers.{table} must be a list of model names")
        consumers[table] = [identifier(str(model), "stream consumer model") for model in models]
    return consumers


@dataclass(frozen=True)
class S3Ingest:
    """Optional auto-ingest from an S3 prefix through a storage integration."""

    url: str
    integration: str
    aws_role_arn: str


@dataclass(frozen=True)
class SnowflakePlan:
    """Everything the Snowflake statements are rendered from."""

    database: str = "SNOWCART"
    warehouse: str = "SNOWCART_WH"
    setup_role: str = SYSADMIN
    credit_quota: int = DEFAULT_CREDIT_QUOTA
    raw: str = "raw"
    schemas: tuple[str, ...] = ("raw", "staging", "analytics", "reference", "ops")
    tables: tuple[str, ...] = ("orders",)
    consumers: dict[str, list[str]] = field(default_factory=dict)
    s3: S3Ingest | None = None

    @classmethod
    def from_project(
        cls,
        env: dict[str, str] | None = None,
        project_dir: Path = PROJECT_DIR,
        credit_quota: int = DEFAULT_CREDIT_QUOTA,
        s3: S3Ingest | None = None,
    ) -> SnowflakePlan:
        env = dict(os.environ if env is None else env)
        raw = identifier(raw_schema(project_dir), "dbt var raw_schema")
        schemas = [raw]
        for schema in [*dbt_custom_schemas(project_dir), OPS_SCHEMA]:
            if schema not in schemas:
                schemas.append(identifier(schema, "dbt custom schema"))
        if REPORTING_SCHEMA not in schemas:
            raise ConfigError(f"dbt_project.yml has no {REPORTING_SCHEMA!r} schema to report from")
        return cls(
            database=identifier(env.get("SNOWFLAKE_DATABASE") or "SNOWCART", "SNOWFLAKE_DATABASE"),
            warehouse=identifier(
                env.get("SNOWFLAKE_WAREHOUSE") or "SNOWCART_WH", "SNOWFLAKE_WAREHOUSE"
            ),
            setup_role=identifier(
                env.get("SNOWFLAKE_SETUP_ROLE") or SYSADMIN, "SNOWFLAKE_SETUP_ROLE"
            ),
            credit_quota=credit_quota,
            raw=raw,
            schemas=tuple(schemas),
            tables=tuple(identifier(t, "landing table") for t in landing_tables(project_dir)),
            consumers=stream_consumers(project_dir),
            s3=s3,
        )

    # Fully qualified names: statements run under several roles, so nothing
    # depends on the session's current database or schema.
    def schema(self, name: str) -> str:
        return f"{self.database}.{name}"

    def raw_object(self, name: str) -> str:
        return f"{self.database}.{self.raw}.{name}"

    @property
    def file_format(self) -> str:
        return self.raw_object(FILE_FORMAT)

    @property
    def transform_schemas(self) -> list[str]:
        return [name for name in self.schemas if name != self.raw]

    def streams(self, table: str) -> list[str]:
        return [self.raw_object(f"{table}__{model}") for model in self.consumers.get(table, [])]

    def pipes(self) -> list[str]:
        names = [self.raw_object(f"{table}_pipe") for table in self.tables]
        if self.s3:
            names += [self.raw_object(f"{table}_s3_pipe") for table in self.tables]
        return names


# --------------------------------------------------------------------------- SQL


@dataclass
class Group:
    """Statements introduced by one `--` comment, run under one role."""

    title: str
    role: str
    statements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def all_statements(self) -> list[str]:
        return [f"USE ROLE {self.role}", *self.statements]


def pipe_copy_sql(plan: SnowflakePlan, table: str, stage: str) -> str:
    """The COPY a pipe runs: the same columns as macros/engine/landing_tables.sql,
    filled from the file metadata; bad lines are skipped (ON_ERROR = CONTINUE)
    and visible through VALIDATE_PIPE_LOAD / COPY_HISTORY."""
    return (
        f"COPY INTO {plan.raw_object(table)} (payload, _file_name, _file_row_number, _loaded_at)\n"
        "    FROM (\n"
        "      SELECT $1, METADATA$FILENAME, METADATA$FILE_ROW_NUMBER,\n"
        "        CONVERT_TIMEZONE('UTC', METADATA$START_SCAN_TIME)::TIMESTAMP_NTZ\n"
        f"      FROM @{plan.raw_object(stage)}/{table}/\n"
        "    )\n"
        f"    FILE_FORMAT = (FORMAT_NAME = '{plan.file_format}')\n"
        "    ON_ERROR = CONTINUE"
    )


def dbt_project_object(plan: SnowflakePlan, table: str) -> str:
    """The dbt project object a table's task executes. Tasks must live in the
    schema of the dbt project object they run; each task has its own object, as
    concurrent EXECUTE DBT PROJECT on one object is not supported."""
    return f"{plan.schema(OPS_SCHEMA)}.{DBT_PROJECT_PREFIX}_{table}"


def task_sql(plan: SnowflakePlan, table: str) -> str:
    """A triggered task (WHEN without SCHEDULE) that builds the models reading
    `table` and everything downstream with dbt Projects on Snowflake, on a
    user-managed warehouse (dbt projects cannot run on serverless tasks)."""
    streams = plan.streams(table)
    when = "\n    OR ".join(f"SYSTEM$STREAM_HAS_DATA('{stream}')" for stream in streams)
    selection = " ".join(f"{model}+" for model in plan.consumers[table])
    return (
        f"CREATE TASK IF NOT EXISTS {plan.schema(OPS_SCHEMA)}.{table}_task\n"
        f"  WAREHOUSE = {plan.warehouse}\n"
        "  SUSPEND_TASK_AFTER_NUM_FAILURES = 3\n"
        f"  COMMENT = 'Snowcart: dbt build of the models reading {plan.raw}.{table}'\n"
        f"  WHEN {when}\n"
        f"  AS EXECUTE DBT PROJECT {dbt_project_object(plan, table)}\n"
        f"    ARGS = 'build --select {selection} --target snowflake'"
    )


def snowflake_groups(plan: SnowflakePlan) -> list[Group]:
    db, wh = plan.database, plan.warehouse
    groups: list[Group] = []

    groups.append(
        Group(
            f"Warehouse {wh}: XSMALL, suspends after 60 s idle, resumes on demand",
            plan.setup_role,
            [
                f"CREATE WAREHOUSE IF NOT EXISTS {wh} WITH\n"
                "  WAREHOUSE_SIZE = XSMALL AUTO_SUSPEND = 60 AUTO_RESUME = TRUE\n"
                "  INITIALLY_SUSPENDED = TRUE"
            ],
        )
    )
    groups.append(
        Group(
            f"Resource monitor: {plan.credit_quota} credits a month on {wh} "
            "(account administrators only)",
            ACCOUNTADMIN,
            [
                f"CREATE RESOURCE MONITOR IF NOT EXISTS {RESOURCE_MONITOR} WITH\n"
                f"  CREDIT_QUOTA = {plan.credit_quota} FREQUENCY = MONTHLY"
                " START_TIMESTAMP = IMMEDIATELY\n"
                "  TRIGGERS ON 90 PERCENT DO NOTIFY ON 100 PERCENT DO SUSPEND"
                " ON 110 PERCENT DO SUSPEND_IMMEDIATE",
                f"ALTER WAREHOUSE {wh} SET RESOURCE_MONITOR = {RESOURCE_MONITOR}",
            ],
        )
    )
    groups.append(
        Group(
            f"Database {db} and the dbt schemas ({', '.join(plan.schemas)})",
            plan.setup_role,
            [f"CREATE DATABASE IF NOT EXISTS {db}"]
            + [f"CREATE SCHEMA IF NOT EXISTS {plan.schema(name)}" for name in plan.schemas],
        )
    )
    groups.append(
        Group(
            "File format and named internal stage the producer PUTs NDJSON files to",
            plan.setup_role,
            [
                f"CREATE FILE FORMAT IF NOT EXISTS {plan.file_format}\n"
                "  TYPE = JSON COMPRESSION = AUTO STRIP_OUTER_ARRAY = FALSE",
                f"CREATE STAGE IF NOT EXISTS {plan.raw_object(STAGE)}\n"
                f"  FILE_FORMAT = (FORMAT_NAME = '{plan.file_format}')",
            ],
        )
    )
    groups.append(
        Group(
            "Landing tables (same columns as macros/engine/landing_tables.sql)",
            plan.setup_role,
            [
                f"CREATE TABLE IF NOT EXISTS {plan.raw_object(table)} (\n"
                "  payload VARIANT,\n"
                "  _file_name VARCHAR,\n"
                "  _file_row_number NUMBER,\n"
                "  _loaded_at TIMESTAMP_NTZ\n"
                ")"
                for table in plan.tables
            ],
        )
    )
    groups.append(
        Group(
            "Pipes: one per landing table over the internal stage "
            "(triggered by the loader: REST insertFiles or ALTER PIPE … REFRESH)",
            plan.setup_role,
            [
                f"CREATE PIPE IF NOT EXISTS {plan.raw_object(table + '_pipe')} AS\n  "
                + pipe_copy_sql(plan, table, STAGE)
                for table in plan.tables
            ],
        )
    )
    streams = [
        f"CREATE STREAM IF NOT EXISTS {stream}\n"
        f"  ON TABLE {plan.raw_object(table)} APPEND_ONLY = TRUE"
        for table in plan.tables
        for stream in plan.streams(table)
    ]
    if streams:
        groups.append(
            Group(
                "Streams: one append-only stream per landing table and consuming model",
                plan.setup_role,
                streams,
            )
        )
    if plan.s3:
        groups += s3_groups(plan)

    roles = [LOADER, TRANSFORMER, REPORTER]
    groups.append(
        Group(
            "Roles: loader, transformer, reporter; the hierarchy ends at SYSADMIN",
            USERADMIN,
            [f"CREATE ROLE IF NOT EXISTS {role}" for role in roles]
            + [f"GRANT ROLE {role} TO ROLE {SYSADMIN}" for role in roles],
        )
    )
    titles = {
        LOADER: "put files on the stage and run the pipes' COPY; nothing downstream",
        TRANSFORMER: "read raw tables and streams, build every downstream schema",
        REPORTER: "read the marts, present and future; never any write privilege",
    }
    grants = grant_statements(plan)
    for role, title in titles.items():
        groups.append(
            Group(
                f"Grants to {role}: {title}",
                SECURITYADMIN,
                [grant for grant in grants if grant.endswith(f" TO ROLE {role}")],
            )
        )
    groups.append(
        Group(
            f"Tasks may run as {TRANSFORMER} (account-level privilege)",
            ACCOUNTADMIN,
            [f"GRANT EXECUTE TASK ON ACCOUNT TO ROLE {TRANSFORMER}"],
        )
    )
    tasks = [task_sql(plan, table) for table in plan.tables if plan.streams(table)]
    if tasks:
        groups.append(
            Group(
                "Tasks, optional: the in-Snowflake alternative to the laptop scheduler. "
                f"Created SUSPENDED, owned by {TRANSFORMER}; each runs its dbt project object "
                f"{plan.schema(OPS_SCHEMA)}.{DBT_PROJECT_PREFIX}_<table> on {plan.warehouse}. "
                "Deploy those first (docs/snowflake.md), then resume:",
                TRANSFORMER,
                tasks,
                notes=[
                    f"ALTER TASK {plan.schema(OPS_SCHEMA)}.{table}_task RESUME;"
                    for table in plan.tables
                    if plan.streams(table)
                ],
            )
        )
    return groups


def s3_groups(plan: SnowflakePlan) -> list[Group]:
    s3 = plan.s3
    assert s3 is not None
    return [
        Group(
            f"Storage integration {s3.integration} for {s3.url} (account administrators only)",
            ACCOUNTADMIN,
            [
                f"CREATE STORAGE INTEGRATION IF NOT EXISTS {s3.integration}\n"
                "  TYPE = EXTERNAL_STAGE STORAGE_PROVIDER = 'S3' ENABLED = TRUE\n"
                f"  STORAGE_AWS_ROLE_ARN = '{s3.aws_role_arn}'\n"
                f"  STORAGE_ALLOWED_LOCATIONS = ('{s3.url}')",
                f"GRANT USAGE ON INTEGRATION {s3.integration} TO ROLE {plan.setup_role}",
            ],
            notes=[
                f"DESC INTEGRATION {s3.integration};  -- STORAGE_AWS_IAM_USER_ARN and "
                "STORAGE_AWS_EXTERNAL_ID go into the IAM role's trust policy",
            ],
        ),
        Group(
            "External stage and AUTO_INGEST pipes fed by S3 event notifications",
            plan.setup_role,
            [
                f"CREATE STAGE IF NOT EXISTS {plan.raw_object(S3_STAGE)}\n"
                f"  URL = '{s3.url}' STORAGE_INTEGRATION = {s3.integration}\n"
                f"  FILE_FORMAT = (FORMAT_NAME = '{plan.file_format}')"
            ]
            + [
                f"CREATE PIPE IF NOT EXISTS {plan.raw_object(table + '_s3_pipe')}"
                " AUTO_INGEST = TRUE AS\n  " + pipe_copy_sql(plan, table, S3_STAGE)
                for table in plan.tables
            ],
            notes=[
                f"SHOW PIPES IN SCHEMA {plan.schema(plan.raw)};  -- column notification_channel: "
                f"the SQS queue ARN to set as the event notification target of {s3.url}",
            ],
        ),
    ]


def grant_statements(plan: SnowflakePlan) -> list[str]:
    db, wh, raw = plan.database, plan.warehouse, plan.schema(plan.raw)
    analytics = plan.schema(REPORTING_SCHEMA)
    grants: list[str] = []

    def grant(privileges: str, on: str, role: str) -> None:
        grants.append(f"GRANT {privileges} ON {on} TO ROLE {role}")

    # Loader: put files on the stage, run the pipes' COPY, nothing else.
    grant("USAGE", f"WAREHOUSE {wh}", LOADER)
    grant("USAGE", f"DATABASE {db}", LOADER)
    grant("USAGE", f"SCHEMA {raw}", LOADER)
    grant("READ, WRITE", f"STAGE {plan.raw_object(STAGE)}", LOADER)
    grant("USAGE", f"FILE FORMAT {plan.file_format}", LOADER)
    # SELECT with INSERT: Snowpipe's REST API and VALIDATE() read the target table.
    grant("INSERT, SELECT", f"ALL TABLES IN SCHEMA {raw}", LOADER)
    grant("INSERT, SELECT", f"FUTURE TABLES IN SCHEMA {raw}", LOADER)
    for pipe in plan.pipes():
        grant("OPERATE, MONITOR", f"PIPE {pipe}", LOADER)

    # Transformer: read raw (tables and streams), build everything downstream.
    grant("USAGE", f"WAREHOUSE {wh}", TRANSFORMER)
    grant("USAGE", f"DATABASE {db}", TRANSFORMER)
    grant("USAGE", f"SCHEMA {raw}", TRANSFORMER)
    for kind in ("TABLES", "STREAMS"):
        grant("SELECT", f"ALL {kind} IN SCHEMA {raw}", TRANSFORMER)
        grant("SELECT", f"FUTURE {kind} IN SCHEMA {raw}", TRANSFORMER)
    for name in plan.transform_schemas:
        privileges = "USAGE, CREATE TABLE, CREATE VIEW, CREATE DYNAMIC TABLE"
        if name == OPS_SCHEMA:
            privileges += ", CREATE TASK, CREATE DBT PROJECT"
        grant(privileges, f"SCHEMA {plan.schema(name)}", TRANSFORMER)

    # Reporter: read the marts, present and future; never any write privilege.
    grant("USAGE", f"WAREHOUSE {wh}", REPORTER)
    grant("USAGE", f"DATABASE {db}", REPORTER)
    grant("USAGE", f"SCHEMA {analytics}", REPORTER)
    for kind in ("TABLES", "VIEWS", "DYNAMIC TABLES"):
        grant("SELECT", f"ALL {kind} IN SCHEMA {analytics}", REPORTER)
        grant("SELECT", f"FUTURE {kind} IN SCHEMA {analytics}", REPORTER)
    return grants


def render_script(plan: SnowflakePlan) -> str:
    """The whole setup as a SQL script: `--` comments, each statement ending in `;`."""
    lines = [
        f"-- Snowcart setup for database {plan.database} (scripts/setup.py --target snowflake).",
        "-- Idempotent: CREATE ... IF NOT EXISTS, GRANT and ALTER ... SET only; nothing is",
        "-- dropped or replaced. Roles the user running it switches to: "
        f"{plan.setup_role}, {ACCOUNTADMIN}, {USERADMIN}, {SECURITYADMIN}, {TRANSFORMER}.",
    ]
    for number, group in enumerate(snowflake_groups(plan), start=1):
        lines += ["", f"-- {number}. {group.title}"]
        lines += [f"{statement};" for statement in group.all_statements()]
        lines += [f"-- {note}" for note in group.notes]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- running


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def setup_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(
        prog="setup.py",
        description=(
            "Create what the pipeline needs: embedded counterparts (dev) or Snowflake "
            "objects, roles and grants (snowflake). Idempotent; never drops data."
        ),
    )
    parser.add_argument("--target", choices=["dev", "snowflake"], required=True)
    parser.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would be created (the SQL, for snowflake) and change nothing",
    )
    parser.add_argument(
        "--home",
        default=None,
        help="dev: folder for the embedded warehouse and stage "
        "(default: $SNOWCART_HOME or ./.snowcart)",
    )
    parser.add_argument(
        "--credit-quota",
        type=positive_int,
        default=None,
        help=f"snowflake: monthly credits for the resource monitor (default {DEFAULT_CREDIT_QUOTA})",
    )
    parser.add_argument("--s3-url", default=None, help="snowflake: s3://bucket/prefix/ to ingest")
    parser.add_argument(
        "--storage-integration", default=None, help="snowflake: storage integration name (S3)"
    )
    parser.add_argument(
        "--aws-role-arn", default=None, help="snowflake: IAM role Snowflake assumes (S3)"
    )
    return parser


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = setup_parser()
    args = parser.parse_args(argv)
    s3_flags = {
        "--s3-url": args.s3_url,
        "--storage-integration": args.storage_integration,
        "--aws-role-arn": args.aws_role_arn,
    }
    given = [flag for flag, value in s3_flags.items() if value]
    if args.target == "dev":
        for flag in [*given, *(["--credit-quota"] if args.credit_quota is not None else [])]:
            parser.error(f"{flag} only applies to --target snowflake")
    else:
        if args.home is not None:
            parser.error("--home only applies to --target dev")
        if given and len(given) != len(s3_flags):
            missing = [flag for flag in s3_flags if flag not in given]
            parser.error(f"S3 auto-ingest also needs {', '.join(missing)}")
        if given:
            url = args.s3_url if args.s3_url.endswith("/") else args.s3_url + "/"
            if not S3_URL.match(url):
                parser.error(f"--s3-url: not an s3://bucket/prefix/ URL: {args.s3_url}")
            if not IDENTIFIER.match(args.storage_integration):
                parser.error(
                    f"--storage-integration: not an identifier: {args.storage_integration}"
                )
            if not AWS_ROLE_ARN.match(args.aws_role_arn):
                parser.error(f"--aws-role-arn: not an IAM role ARN: {args.aws_role_arn}")
            args.s3 = S3Ingest(url, args.storage_integration, args.aws_role_arn)
        else:
            args.s3 = None
    return args


def setup_main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    if args.target == "dev":
        return run_guarded(lambda stop: _setup_dev(args, stop))
    return run_guarded(lambda stop: _setup_snowflake(args, stop))


def _setup_dev(args: argparse.Namespace, stop: threading.Event) -> int:  # noqa: ARG001
    if args.dry_run:
        # Settings.resolve() would create the home folder: resolve the path only.
        home = Path(args.home or os.environ.get("SNOWCART_HOME") or DEFAULT_HOME)
        settings = Settings(target="dev", home=home.expanduser().resolve())
        raw = raw_schema(settings.project_dir)
        print(f"snowcart setup (dry run, nothing created): target=dev home={settings.home}")
        print(f"  would create {settings.stage_dir}/ and {settings.warehouse_path}")
        for table in landing_tables(settings.project_dir):
            print(
                f"  would create table {raw}.{table} if missing "
                "(dbt run-operation create_landing_tables)"
            )
        # The pipe's load metadata, as snowcart.engines.duckdb.pipe creates it, probed in memory.
        import duckdb

        from snowcart.engines.duckdb.pipe import create_load_metadata

        with duckdb.connect(":memory:") as probe:
            create_load_metadata(probe)
            for name in _duckdb_tables(probe, (OPS_SCHEMA,)):
                print(f"  would create table {name} if missing (snowcart/pipe.py)")
        return 0

    from snowcart.engines.duckdb.warehouse import DuckDBWarehouse

    settings = Settings.resolve("dev", args.home)
    print(f"snowcart setup: target=dev home={settings.home}", flush=True)
    warehouse = DuckDBWarehouse(settings)
    try:
        schemas = (raw_schema(settings.project_dir), OPS_SCHEMA)
        before = _duckdb_tables(warehouse.con, schemas)
        warehouse.setup()
        after = _duckdb_tables(warehouse.con, schemas)
    finally:
        warehouse.close()
    for name in after:
        print(f"  {'exists ' if name in before else 'created'} table {name}")
    print(f"snowcart setup: {len(after) - len(before)} created, {len(before)} already there")
    return 0


def _duckdb_tables(con, schemas: Sequence[str]) -> list[str]:
    rows = con.execute(
        "select table_schema || '.' || table_name from information_schema.tables "
        f"where table_schema in ({', '.join('?' for _ in schemas)}) order by 1",
        list(schemas),
    ).fetchall()
    return [row[0] for row in rows]


def _setup_snowflake(args: argparse.Namespace, stop: threading.Event) -> int:
    quota = DEFAULT_CREDIT_QUOTA if args.credit_quota is None else args.credit_quota
    plan = SnowflakePlan.from_project(credit_quota=quota, s3=args.s3)
    if args.dry_run:
        print(render_script(plan), end="")
        print("-- dry run: nothing was executed.")
        return 0

    from snowcart.engines.snowflake.connection import SnowflakeConfig, connect

    config = replace(SnowflakeConfig.from_env(), role=plan.setup_role)
    statements = [s for group in snowflake_groups(plan) for s in group.all_statements()]
    print(f"snowcart setup: target=snowflake database={plan.database}", flush=True)
    with connect(config, qualified_names_only=True) as con:
        cursor = con.cursor()
        for number, statement in enumerate(statements, start=1):
            if stop.is_set():
                print("snowcart setup: stopped; run it again to finish (it is idempotent)")
                return 130
            status = _execute(cursor, statement, number, len(statements))
            print(f"  [{number}/{len(statements)}] {_headline(statement)}: {status}", flush=True)
        if plan.s3:
            _print_notification_channels(cursor, plan)
    print(f"snowcart setup: {len(statements)} statements succeeded")
    for group in snowflake_groups(plan):
        if group.role == TRANSFORMER:
            print("  tasks are SUSPENDED; to run them see docs/snowflake.md, then:")
            for note in group.notes:
                print(f"    {note}")
    return 0


def _execute(cursor, statement: str, number: int, total: int) -> str:
    import snowflake.connector

    try:
        row = cursor.execute(statement).fetchone()
    except snowflake.connector.errors.Error as error:
        raise SnowcartError(
            f"statement {number}/{total} failed ({_headline(statement)}): "
            f"{(error.msg or str(error)).strip().splitlines()[0]} "
            "(setup is idempotent: fix the cause and run it again)"
        ) from error
    return str(row[0]) if row else "ok"


def _print_notification_channels(cursor, plan: SnowflakePlan) -> None:
    cursor.execute(f"SHOW PIPES IN SCHEMA {plan.schema(plan.raw)}")
    columns = [column[0].lower() for column in cursor.description]
    wanted = {f"{table}_s3_pipe".upper() for table in plan.tables}
    channels = sorted(
        {
            str(row[columns.index("notification_channel")])
            for row in cursor.fetchall()
            if str(row[columns.index("name")]).upper() in wanted
            and row[columns.index("notification_channel")]
        }
    )
    assert plan.s3 is not None
    print(f"  S3 auto-ingest: send s3:ObjectCreated:* events of {plan.s3.url} to:")
    for channel in channels or ["(none reported yet: SHOW PIPES, column notification_channel)"]:
        print(f"    {channel}")


def _headline(statement: str) -> str:
    first = statement.splitlines()[0]
    return first[:-5] if first.endswith(" WITH") else first.removesuffix(" AS")
