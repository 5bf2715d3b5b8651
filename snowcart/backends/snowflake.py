"""Production target: files PUT to a named internal stage and COPY'd into the
landing tables, the same statement a Snowpipe runs. Snowflake's load metadata
keeps each file loaded at most once, so a retried PUT or COPY is harmless."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from snowcart.backends import LoadReport
from snowcart.errors import ConfigError
from snowcart.settings import Settings, landing_tables, raw_schema, stream_consumers
from snowcart.stage import LocalStage, StagedFile
from snowcart.transform import Dbt

STAGE_NAME = "landing"


@dataclass(frozen=True)
class SnowflakeConfig:
    """Connection settings, from the same environment variables the dbt profile reads."""

    account: str
    user: str
    password: str | None
    private_key_path: str | None
    private_key_passphrase: str | None
    role: str
    warehouse: str
    database: str
    reporter_role: str = "SNOWCART_REPORTER"
    host: str | None = None
    port: int | None = None
    protocol: str | None = None

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> SnowflakeConfig:
        env = dict(os.environ if env is None else env)
        missing = [name for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER") if not env.get(name)]
        if not env.get("SNOWFLAKE_PASSWORD") and not env.get("SNOWFLAKE_PRIVATE_KEY_PATH"):
            missing.append("SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH")
        if missing:
            raise ConfigError(
                "missing Snowflake setting(s): "
                + ", ".join(missing)
                + " (see profiles.example.yml)"
            )
        key_path = env.get("SNOWFLAKE_PRIVATE_KEY_PATH") or None
        if key_path and not Path(key_path).is_file():
            raise ConfigError(f"SNOWFLAKE_PRIVATE_KEY_PATH {key_path} is not a readable file")
        return cls(
            account=env["SNOWFLAKE_ACCOUNT"],
            user=env["SNOWFLAKE_USER"],
            password=env.get("SNOWFLAKE_PASSWORD") or None,
            private_key_path=key_path,
            private_key_passphrase=env.get("SNOWFLAKE_PRIVATE_KEY_PASSPHRASE") or None,
            role=env.get("SNOWFLAKE_ROLE", "SNOWCART_LOADER"),
            warehouse=env.get("SNOWFLAKE_WAREHOUSE", "SNOWCART_WH"),
            database=env.get("SNOWFLAKE_DATABASE", "SNOWCART"),
            reporter_role=env.get("SNOWFLAKE_REPORTER_ROLE", "SNOWCART_REPORTER"),
        )

    @classmethod
    def for_fakesnow(cls, port: int) -> SnowflakeConfig:
        """The local fakesnow server the tests start (the profile's fakesnow target)."""
        return cls(
            account="fakesnow",
            user="fake",
            password="snow",
            private_key_path=None,
            private_key_passphrase=None,
            role="SNOWCART_TRANSFORMER",
            warehouse="SNOWCART_WH",
            database="SNOWCART",
            host="localhost",
            port=port,
            protocol="http",
        )

    def connect_args(self, schema: str) -> dict:
        args = {
            "schema": schema,
            "account": self.account,
            "user": self.user,
            "role": self.role,
            "warehouse": self.warehouse,
            "database": self.database,
        }
        if self.private_key_path:
            args["private_key"] = load_private_key(
                self.private_key_path, self.private_key_passphrase
            )
        else:
            args["password"] = self.password
        if self.host:
            args.update(host=self.host, port=self.port, protocol=self.protocol)
        return args


def load_private_key(path: str, passphrase: str | None) -> bytes:
    """A PEM private key as the DER bytes the connector's key-pair auth takes."""
    from cryptography.hazmat.primitives import serialization

    try:
        key = serialization.load_pem_private_key(
            Path(path).read_bytes(), password=passphrase.encode() if passphrase else None
        )
    except (ValueError, TypeError) as error:
        raise ConfigError(f"cannot read private key {path}: {error}") from error
    return key.private_bytes(
        encoding=serialization.Encoding.DER,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )


def put_sql(raw: str, staged: StagedFile) -> str:
    # OVERWRITE = FALSE: a retried PUT of the same file is a no-op.
    return (
        f"put 'file://{staged.path.as_posix()}' @{raw}.{STAGE_NAME}/{staged.table}/ "
        "auto_compress = true overwrite = false"
    )


def staged_path(staged: StagedFile) -> str:
    """Where PUT puts a file, relative to the stage: AUTO_COMPRESS adds .gz."""
    suffix = "" if staged.path.name.endswith(".gz") else ".gz"
    return f"{staged.table}/{staged.path.name}{suffix}"


def refresh_pipe_sql(raw: str, table: str) -> str:
    """Queue staged files the pipe has not loaded (its load history skips the rest)."""
    return f"alter pipe {raw}.{table}_pipe refresh"


class SnowflakeWarehouse:
    # Dynamic tables refresh inside Snowflake on their own target_lag; the
    # scheduler only runs the incremental models and snapshots.
    refreshes_marts_itself = True

    def __init__(self, settings: Settings, config: SnowflakeConfig | None = None) -> None:
        self.settings = settings
        if config is None and settings.target == "fakesnow":
            config = SnowflakeConfig.for_fakesnow(int(os.environ.get("FAKESNOW_PORT", "8085")))
        self.config = config or SnowflakeConfig.from_env()
        self.dbt = Dbt(settings)
        self.stage = LocalStage(settings.stage_dir)
        self.raw = raw_schema(settings.project_dir)
        self.tables = landing_tables(settings.project_dir)
        self._uploaded_log = settings.home / "snowflake_uploaded.txt"
        self._uploaded = (
            set(self._uploaded_log.read_text().split()) if self._uploaded_log.exists() else set()
        )
        self._con = None

    @property
    def con(self):
        if self._con is None:
            import snowflake.connector

            try:
                self._con = snowflake.connector.connect(**self.config.connect_args(self.raw))
            except snowflake.connector.errors.Error as error:
                raise ConfigError(f"cannot connect to Snowflake: {error.msg or error}") from error
        return self._con

    def setup(self) -> None:
        # Stage, pipes, streams and roles come from scripts/setup.py --target snowflake.
        self.dbt.run_operation("create_landing_tables")

    def _pending(self) -> list[StagedFile]:
        return [
            staged for staged in self.stage.files(self.tables) if staged.name not in self._uploaded
        ]

    def ingest(self) -> LoadReport:
        """PUT new stage files to the internal stage and ask each table's pipe to
        load them. Snowpipe loads asynchronously, so the report counts files
        handed over; COPY_HISTORY shows rows loaded and rejected."""
        pending = self._pending()
        report = LoadReport()
        if not pending:
            return report
        import snowflake.connector

        cursor = self.con.cursor()
        rest = self._snowpipe_rest()
        try:
            for staged in pending:
                cursor.execute(put_sql(self.raw, staged))
            for table in sorted({staged.table for staged in pending}):
                if rest is None:
                    cursor.execute(refresh_pipe_sql(self.raw, table))
                else:
                    rest.insert_files(
                        f"{self.config.database}.{self.raw}.{table}_pipe",
                        [staged_path(staged) for staged in pending if staged.table == table],
                    )
        except snowflake.connector.errors.ProgrammingError as error:
            raise ConfigError(
                f"Snowflake refused the load ({error.msg}); "
                "create the stage and pipes first: python scripts/setup.py --target snowflake"
            ) from error
        for staged in pending:
            report.files += 1
            report.files_by_table[staged.table] = report.files_by_table.get(staged.table, 0) + 1
        self._uploaded.update(staged.name for staged in pending)
        with open(self._uploaded_log, "a", encoding="utf-8") as log:
            log.writelines(f"{staged.name}\n" for staged in pending)
        return report

    def _snowpipe_rest(self):
        """The REST client when key-pair credentials are configured, else None."""
        if not self.config.private_key_path or self.config.host:
            return None
        from snowcart.snowpipe_rest import SnowpipeRestClient

        key = load_private_key(self.config.private_key_path, self.config.private_key_passphrase)
        return SnowpipeRestClient(self.config.account, self.config.user, key)

    def build(self) -> None:
        # Dynamic tables refresh inside Snowflake on their own target_lag.
        self.dbt.build()

    def pending_files(self) -> int:
        return len(self._pending())

    def consumers_with_data(self) -> list[str]:
        """Stream-consuming models whose stream has data (SYSTEM$STREAM_HAS_DATA)."""
        consumers = stream_consumers(self.settings.project_dir)
        if not consumers:
            return []
        pairs = [(table, model) for table, models in consumers.items() for model in models]
        checks = ", ".join(
            f"system$stream_has_data('{self.config.database}.{self.raw}.{table}__{model}')"
            for table, model in pairs
        )
        row = self.con.cursor().execute(f"select {checks}").fetchone()
        return [model for (_, model), has_data in zip(pairs, row, strict=True) if has_data]

    def stream_backlog(self) -> int | None:
        return None  # Snowflake does not count a stream's rows without reading it

    def record_refresh(self, job, started_at, duration_s, status, rows, error) -> None:
        # Snowflake keeps its own: INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY
        # and QUERY_HISTORY; the scheduler's status shows each job's outcome.
        pass

    def publish(self, marts: list[str]) -> None:
        pass  # readers query the dynamic tables in Snowflake directly

    def quarantined(self) -> int | None:
        return None

    def freshness_lag_s(self) -> float | None:
        return None

    def totals(self) -> dict[str, float]:
        # The loader may not read the marts (least privilege): ask as the reporter.
        import snowflake.connector

        args = {**self.config.connect_args("analytics"), "role": self.config.reporter_role}
        with snowflake.connector.connect(**args) as reporter:
            row = (
                reporter.cursor()
                .execute(
                    "select count(*), count(distinct order_id), coalesce(sum(net_revenue), 0)"
                    " from analytics.fct_sales"
                )
                .fetchone()
            )
        return {
            "fct_sales rows": float(row[0]),
            "orders": float(row[1]),
            "fct_sales net_revenue": float(row[2]),
        }

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
