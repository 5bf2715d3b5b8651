"""The Snowflake setup as ordered groups of statements, each group run under
one role: warehouse, resource monitor, database and schemas, file format and
stage, landing tables, pipes, streams, optionally an S3 storage integration
with auto-ingest pipes, roles, grants and tasks. Every statement is
`CREATE … IF NOT EXISTS`, `GRANT` or an `ALTER … SET`: running setup again
never drops or replaces anything. The SQL is in `sql/*.sql` (see templates.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

from snowcart.engines.base import AT_REST_TAG
from snowcart.engines.snowflake.plan import (
    ACCOUNTADMIN,
    DBT_PROJECT_PREFIX,
    LOADER,
    REPORTER,
    REPORTING_SCHEMA,
    RESOURCE_MONITOR,
    S3_STAGE,
    SECURITYADMIN,
    STAGE,
    SYSADMIN,
    TRANSFORMER,
    USERADMIN,
    SnowflakePlan,
)
from snowcart.engines.snowflake.templates import Sql, fragment, literal, statement, statements
from snowcart.settings import OPS_SCHEMA, identifier


@dataclass
class Group:
    """Statements introduced by one `--` comment, run under one role."""

    title: str
    role: str
    statements: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def all_statements(self) -> list[str]:
        return [statement("use_role", role=self.role), *self.statements]


def snowflake_groups(plan: SnowflakePlan) -> list[Group]:
    groups = [*object_groups(plan), *ingest_groups(plan)]
    if plan.s3:
        groups += s3_groups(plan)
    groups += access_groups(plan)
    groups += task_groups(plan)
    return groups


def object_groups(plan: SnowflakePlan) -> list[Group]:
    """Warehouse, resource monitor, database, schemas, file format, stage."""
    db, wh = plan.database, plan.warehouse
    return [
        Group(
            f"Warehouse {wh}: XSMALL, suspends after 60 s idle, resumes on demand",
            plan.setup_role,
            statements("warehouse", warehouse=wh),
        ),
        Group(
            f"Resource monitor: {plan.credit_quota} credits a month on {wh} "
            "(account administrators only)",
            ACCOUNTADMIN,
            statements(
                "resource_monitor",
                monitor=RESOURCE_MONITOR,
                credit_quota=plan.credit_quota,
                warehouse=wh,
            ),
        ),
        Group(
            f"Database {db} and the dbt schemas ({', '.join(plan.schemas)})",
            plan.setup_role,
            [statement("database", database=db)]
            + [statement("schema", schema=plan.schema(name)) for name in plan.schemas],
        ),
        Group(
            "File formats (NDJSON, and its lines as text for the pipes) and the named internal stage the producer PUTs files to",
            plan.setup_role,
            statements(
                "internal_stage",
                file_format=plan.file_format,
                lines_format=plan.lines_format,
                stage=plan.raw_object(STAGE),
            ),
        ),
    ]


def pipe_copy(plan: SnowflakePlan, table: str, stage: str) -> Sql:
    return fragment(
        "copy_into_landing",
        table=plan.raw_object(table),
        stage=plan.raw_object(stage),
        folder=table,
        lines_format=plan.lines_format,
    )


def ingest_groups(plan: SnowflakePlan) -> list[Group]:
    """Landing tables, the pipes over the internal stage, the streams."""
    groups = [
        Group(
            "Landing tables (same columns as macros/engine/landing_tables.sql)",
            plan.setup_role,
            [
                sql
                for table in plan.tables
                for sql in statements("landing_table", table=plan.raw_object(table))
            ],
        ),
        Group(
            "Pipes: one per landing table over the internal stage "
            "(triggered by the loader: REST insertFiles or ALTER PIPE … REFRESH)",
            plan.setup_role,
            [
                statement(
                    "pipe",
                    pipe=plan.raw_object(f"{table}_pipe"),
                    copy=pipe_copy(plan, table, STAGE),
                )
                for table in plan.tables
            ],
        ),
    ]
    groups.append(
        Group(
            "Kafka topics: a Snowpipe Streaming pipe per landing table for the loader "
            "(pipeline.py --source kafka, one channel per topic partition), and one named "
            "as the table for the Snowflake Kafka connector (setup.py --kafka-connector-config)",
            plan.setup_role,
            [
                sql
                for table in plan.tables
                for sql in (
                    statement(
                        "streaming_pipe",
                        pipe=plan.streaming_pipe(table),
                        table=plan.raw_object(table),
                    ),
                    statement(
                        "connector_pipe",
                        pipe=plan.connector_pipe(table),
                        table=plan.raw_object(table),
                    ),
                )
            ],
        )
    )
    streams = [
        statement("stream", stream=stream, table=plan.raw_object(table))
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
    return groups


def s3_groups(plan: SnowflakePlan) -> list[Group]:
    """Storage integration, external stage and AUTO_INGEST pipes."""
    s3 = plan.s3
    assert s3 is not None
    return [
        Group(
            f"Storage integration {s3.integration} for {s3.url} (account administrators only)",
            ACCOUNTADMIN,
            statements(
                "storage_integration",
                integration=s3.integration,
                aws_role_arn=literal(s3.aws_role_arn),
                url=literal(s3.url),
                setup_role=plan.setup_role,
            ),
            notes=[
                statement("describe_integration", integration=s3.integration)
                + ";  -- STORAGE_AWS_IAM_USER_ARN and "
                "STORAGE_AWS_EXTERNAL_ID go into the IAM role's trust policy",
            ],
        ),
        Group(
            "External stage and AUTO_INGEST pipes fed by S3 event notifications",
            plan.setup_role,
            [
                statement(
                    "s3_stage",
                    stage=plan.raw_object(S3_STAGE),
                    url=literal(s3.url),
                    integration=s3.integration,
                    file_format=plan.file_format,
                )
            ]
            + [
                statement(
                    "s3_pipe",
                    pipe=plan.raw_object(f"{table}_s3_pipe"),
                    copy=pipe_copy(plan, table, S3_STAGE),
                )
                for table in plan.tables
            ],
            notes=[
                statement("show_pipes", schema=plan.schema(plan.raw))
                + ";  -- column notification_channel: "
                f"the SQS queue ARN to set as the event notification target of {s3.url}",
            ],
        ),
    ]


def access_groups(plan: SnowflakePlan) -> list[Group]:
    """The three roles and their least-privilege grants."""
    roles = {"loader": LOADER, "transformer": TRANSFORMER, "reporter": REPORTER}
    groups = [
        Group(
            "Roles: loader, transformer, reporter; the hierarchy ends at SYSADMIN",
            USERADMIN,
            statements("roles", **roles, sysadmin=SYSADMIN),
        )
    ]
    titles = {
        LOADER: "put files on the stage and run the pipes' COPY; nothing downstream",
        TRANSFORMER: "read raw tables and streams, build every downstream schema",
        REPORTER: "read the marts, present and future; never any write privilege",
    }
    grants = {
        LOADER: loader_grants(plan),
        TRANSFORMER: transformer_grants(plan),
        REPORTER: reporter_grants(plan),
    }
    for role, title in titles.items():
        groups.append(Group(f"Grants to {role}: {title}", SECURITYADMIN, grants[role]))
    return groups


def loader_grants(plan: SnowflakePlan) -> list[str]:
    return [
        *statements(
            "loader_grants",
            warehouse=plan.warehouse,
            database=plan.database,
            raw=plan.schema(plan.raw),
            stage=plan.raw_object(STAGE),
            file_format=plan.file_format,
            loader=LOADER,
        ),
        *(statement("pipe_grant", pipe=pipe, loader=LOADER) for pipe in plan.pipes()),
        *(
            statement("streaming_pipe_grant", pipe=pipe, loader=LOADER)
            for table in plan.tables
            for pipe in (plan.streaming_pipe(table), plan.connector_pipe(table))
        ),
    ]


def transformer_grants(plan: SnowflakePlan) -> list[str]:
    return [
        *statements(
            "transformer_grants",
            warehouse=plan.warehouse,
            database=plan.database,
            raw=plan.schema(plan.raw),
            transformer=TRANSFORMER,
        ),
        *(
            statement(
                "ops_schema_grant" if name == OPS_SCHEMA else "transform_schema_grant",
                schema=plan.schema(name),
                transformer=TRANSFORMER,
            )
            for name in plan.transform_schemas
        ),
    ]


def reporter_grants(plan: SnowflakePlan) -> list[str]:
    return statements(
        "reporter_grants",
        warehouse=plan.warehouse,
        database=plan.database,
        analytics=plan.schema(REPORTING_SCHEMA),
        reporter=REPORTER,
    )


def task_sql(plan: SnowflakePlan, table: str) -> Sql:
    """The triggered task that builds the models reading `table` and downstream."""
    models = [identifier(model, "stream consumer model") for model in plan.consumers[table]]
    return statement(
        "task",
        task=plan.task(table),
        warehouse=plan.warehouse,
        raw=plan.raw,
        table=table,
        when=Sql(
            "\n    OR ".join(
                fragment("stream_has_data", stream=stream) for stream in plan.streams(table)
            )
        ),
        dbt_project=plan.dbt_project_object(table),
        selection=Sql(" ".join(f"{model}+" for model in models)),
        exclusion=Sql(f"tag:{AT_REST_TAG}"),
    )


def task_groups(plan: SnowflakePlan) -> list[Group]:
    """EXECUTE TASK for the transformer, then the tasks it owns, created suspended."""
    groups = [
        Group(
            f"Tasks may run as {TRANSFORMER} (account-level privilege)",
            ACCOUNTADMIN,
            [statement("execute_task_grant", transformer=TRANSFORMER)],
        )
    ]
    with_streams = [table for table in plan.tables if plan.streams(table)]
    if with_streams:
        groups.append(
            Group(
                "Tasks, optional: the in-Snowflake alternative to the laptop scheduler. "
                f"Created SUSPENDED, owned by {TRANSFORMER}; each runs its dbt project object "
                f"{plan.schema(OPS_SCHEMA)}.{DBT_PROJECT_PREFIX}_<table> on {plan.warehouse}. "
                "Deploy those first (docs/snowflake.md), then resume:",
                TRANSFORMER,
                [task_sql(plan, table) for table in with_streams],
                notes=[
                    statement("resume_task", task=plan.task(table)) + ";" for table in with_streams
                ],
            )
        )
    return groups


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
        lines += [f"{sql};" for sql in group.all_statements()]
        lines += [f"-- {note}" for note in group.notes]
    return "\n".join(lines) + "\n"
