"""What `scripts/setup.py --target snowflake` creates, by name: the database,
warehouse and roles from the environment, the schemas, landing tables and stream
consumers from dbt_project.yml. Every name is checked as a plain identifier here,
before any SQL is written with it."""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from snowcart.engines.base import S3Ingest
from snowcart.errors import ConfigError
from snowcart.settings import (
    OPS_SCHEMA,
    PROJECT_DIR,
    identifier,
    landing_tables,
    raw_schema,
    stream_consumers,
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

REPORTING_SCHEMA = "analytics"
STAGE = "landing"
S3_STAGE = "landing_s3"
FILE_FORMAT = "ndjson_format"
# The pipes read each line as text with it (sql/internal_stage.sql).
LINES_FORMAT = "ndjson_lines_format"
RESOURCE_MONITOR = "SNOWCART_MONITOR"
# The monitor's monthly quota, from the arithmetic in docs/snowflake.md ("What
# it costs"). While orders stream, the 1-minute marts refresh at least once a
# minute, so the XSMALL warehouse (1 credit an hour, AUTO_SUSPEND = 60,
# sql/warehouse.sql) never idles the 60 s it needs to suspend: 24 credits a
# day, which is also its ceiling (one cluster bills one hour per hour). The
# longer lags (5, 15, 60 minutes: multiples of 1) refresh on the same aligned
# instants, and the tasks run on the same warehouse: neither adds hours. Over a
# 31-day month, plus 20 % for the cloud services the monitor counts with it.
XSMALL_CREDITS_PER_HOUR = 1
STREAMING_CREDITS_PER_DAY = 24 * XSMALL_CREDITS_PER_HOUR
CREDIT_QUOTA = math.ceil(STREAMING_CREDITS_PER_DAY * 31 * 1.2)  # 24 x 31 x 1.2 = 893
# dbt project objects (dbt Projects on Snowflake): one per task, <prefix>_<table>,
# because Snowflake does not support concurrent EXECUTE DBT PROJECT on one object.
DBT_PROJECT_PREFIX = "snowcart_dbt"


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


@dataclass(frozen=True)
class SnowflakePlan:
    """Everything the Snowflake statements are rendered from."""

    database: str = "SNOWCART"
    warehouse: str = "SNOWCART_WH"
    setup_role: str = SYSADMIN
    credit_quota: int = CREDIT_QUOTA
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
        credit_quota: int = CREDIT_QUOTA,
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
    def lines_format(self) -> str:
        return self.raw_object(LINES_FORMAT)

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

    def streaming_pipe(self, table: str) -> str:
        """The Kafka loader's Snowpipe Streaming pipe into `table`."""
        return self.raw_object(f"{table}_streaming")

    def connector_pipe(self, table: str) -> str:
        """The Kafka connector's: the High Performance connector streams a topic
        into the pipe named as its table."""
        return self.raw_object(table)

    def task(self, table: str) -> str:
        return f"{self.schema(OPS_SCHEMA)}.{table}_task"

    def dbt_project_object(self, table: str) -> str:
        """The dbt project object a table's task executes. Tasks must live in the
        schema of the dbt project object they run; each task has its own object,
        as concurrent EXECUTE DBT PROJECT on one object is not supported."""
        return f"{self.schema(OPS_SCHEMA)}.{DBT_PROJECT_PREFIX}_{table}"
