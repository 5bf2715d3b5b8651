"""Production target: files PUT to a named internal stage and COPY'd into the
landing tables, the same statement a Snowpipe runs. Snowflake's load metadata
keeps each file loaded at most once, so a retried PUT or COPY is harmless."""

from __future__ import annotations

import json

from snowcart.engines.base import LoadReport
from snowcart.engines.dbt_runner import Dbt
from snowcart.engines.snowflake.connection import SnowflakeConfig, connect, load_private_key
from snowcart.engines.snowflake.templates import literal
from snowcart.errors import ConfigError
from snowcart.settings import Settings, identifier, landing_tables, raw_schema, stream_consumers
from snowcart.stages.local import LocalStage, StagedFile

STAGE_NAME = "landing"


def put_sql(raw: str, staged: StagedFile) -> str:
    # OVERWRITE = FALSE: a retried PUT of the same file is a no-op.
    # The path (the user's --home, a producer's file name) is one string literal
    # (Snowflake's PUT takes the file URI in single quotes, `''` and `\\` escaped,
    # as any string constant); names are checked as plain identifiers.
    source = literal(f"file://{staged.path.as_posix()}")
    return (
        f"put {source} @{identifier(raw, 'raw schema')}.{STAGE_NAME}/"
        f"{identifier(staged.table, 'landing table')}/ auto_compress = true overwrite = false"
    )


def staged_path(staged: StagedFile) -> str:
    """Where PUT puts a file, relative to the stage."""
    return staged_name(f"{staged.table}/{staged.path.name}")


def staged_name(name: str) -> str:
    """A local stage file's name (`table/file`) on the stage: AUTO_COMPRESS adds .gz."""
    return name if name.endswith(".gz") else f"{name}.gz"


def _logged_name(line: str) -> str:
    """A name in the upload log: JSON (any character, spaces and newlines too),
    or, in a log written before, the name as it is."""
    if line.startswith('"'):
        try:
            return json.loads(line)
        except ValueError:
            pass
    return line


def refresh_pipe_sql(raw: str, table: str) -> str:
    """Queue staged files the pipe has not loaded (its load history skips the rest)."""
    return f"alter pipe {identifier(raw, 'raw schema')}.{identifier(table, 'landing table')}_pipe refresh"


class SnowflakeWarehouse:
    # Dynamic tables refresh inside Snowflake on their own target_lag; the
    # scheduler only runs the incremental models and snapshots.
    refreshes_marts_itself = True

    def __init__(self, settings: Settings, config: SnowflakeConfig | None = None) -> None:
        self.settings = settings
        self.config = config or SnowflakeConfig.for_target(settings.target)
        self.dbt = Dbt(settings)
        self.stage = LocalStage(settings.stage_dir)
        self.raw = raw_schema(settings.project_dir)
        self.tables = landing_tables(settings.project_dir)
        self._uploaded_log = settings.home / "snowflake_uploaded.txt"
        self._uploaded = (
            {_logged_name(line) for line in self._uploaded_log.read_text().splitlines()}
            if self._uploaded_log.exists()
            else set()
        )
        self._con = None
        self._kafka = None

    @property
    def con(self):
        if self._con is None:
            self._con = connect(self.config, schema=self.raw)
        return self._con

    def setup(self) -> None:
        # Stage, pipes, streams and roles come from scripts/setup.py --target snowflake.
        self.dbt.run_operation("create_landing_tables")

    def _pending(self) -> list[StagedFile]:
        return [
            staged for staged in self.stage.files(self.tables) if staged.name not in self._uploaded
        ]

    def _kafka_loader(self):
        """The topics' consumer and its Snowpipe Streaming clients, on first use."""
        if self._kafka is None:
            from snowcart.engines.snowflake.kafka_streaming import (
                StreamingLoader,
                streaming_clients,
            )

            clients = streaming_clients(self.config, self._database(), self.raw, self.tables)
            self._kafka = StreamingLoader(self.settings.kafka, self.tables, clients)
        return self._kafka

    def ingest(self) -> LoadReport:
        if self.settings.kafka is not None:
            return self._kafka_loader().load()
        return self._ingest_files()

    def _ingest_files(self) -> LoadReport:
        """PUT new stage files to the internal stage and ask each table's pipe to
        load them. Snowpipe loads asynchronously, so the report counts files
        handed over; every line lands, the ones that are no event in
        qrn_shop__unloadable_lines."""
        pending = self._pending()
        report = LoadReport()
        if not pending:
            return report
        import snowflake.connector

        cursor = self.con.cursor()
        rest = self._snowpipe_rest()
        try:
            for staged in pending:
                # The connector expands `*`, `?` and `[...]` in a PUT's path over
                # the local disk; given the open file it uploads that one only.
                with open(staged.path, "rb") as handle:
                    cursor.execute(put_sql(self.raw, staged), file_stream=handle)
            for table in sorted({staged.table for staged in pending}):
                if rest is None:
                    cursor.execute(refresh_pipe_sql(self.raw, table))
                else:
                    rest.insert_files(
                        f"{self._database()}.{self.raw}.{identifier(table, 'landing table')}_pipe",
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
            log.writelines(f"{json.dumps(staged.name)}\n" for staged in pending)
        return report

    def _database(self) -> str:
        return identifier(self.config.database, "SNOWFLAKE_DATABASE")

    def _snowpipe_rest(self):
        """The REST client when key-pair credentials are configured, else None."""
        if not self.config.private_key_path or self.config.host:
            return None
        from snowcart.engines.snowflake.snowpipe_rest import SnowpipeRestClient

        key = load_private_key(self.config.private_key_path, self.config.private_key_passphrase)
        return SnowpipeRestClient(self.config.account, self.config.user, key)

    def build(self) -> None:
        # Dynamic tables refresh inside Snowflake on their own target_lag.
        self.dbt.build()

    def pending_files(self) -> int:
        if self.settings.kafka is not None:
            return self._kafka_loader().pending()
        return len(self._pending())

    def consumers_with_data(self) -> list[str]:
        """Stream-consuming models whose stream has data (SYSTEM$STREAM_HAS_DATA)."""
        consumers = stream_consumers(self.settings.project_dir)
        if not consumers:
            return []
        pairs = [(table, model) for table, models in consumers.items() for model in models]
        raw = identifier(self.raw, "raw schema")
        checks = ", ".join(
            "system$stream_has_data("
            + literal(f"{self._database()}.{raw}.{identifier(table, 'landing table')}__{model}")
            + ")"
            for table, model in pairs
        )
        row = self.con.cursor().execute(f"select {checks}").fetchone()
        return [model for (_, model), has_data in zip(pairs, row, strict=True) if has_data]

    def stage_health(self) -> dict[str, int | float | str]:
        # An S3 stage's backlog is the pipes' (SYSTEM$PIPE_STATUS): Snowflake's to report.
        if self.settings.kafka is None:
            return {}
        lag = self._kafka_loader().lag()
        return {"Kafka lag (records not committed)": sum(lag.values())}

    def record_health(self) -> None:
        # Snowflake does not count a stream's rows without reading it; the lines
        # that are no event are in quarantine.qrn_shop__unloadable_lines
        # (docs/snowflake.md, "Every line lands").
        return None

    def record_refresh(self, job, started_at, duration_s, status, rows, error) -> None:
        # Snowflake keeps its own: INFORMATION_SCHEMA.DYNAMIC_TABLE_REFRESH_HISTORY
        # and QUERY_HISTORY; the scheduler's status shows each job's outcome.
        pass

    def publish(self, marts: list[str]) -> None:
        pass  # readers query the dynamic tables in Snowflake directly

    def freshness_lag_s(self) -> float | None:
        return None

    def totals(self) -> dict[str, int | float]:
        # The loader may not read the marts (least privilege): ask as the reporter.
        with connect(self.config, schema="analytics", role=self.config.reporter_role) as reporter:
            row = (
                reporter.cursor()
                .execute(
                    "select count(order_line_id), count(distinct order_id),"
                    " coalesce(sum(net_revenue), 0) from analytics.fct_revenue"
                )
                .fetchone()
            )
        return {
            "fct_sales rows": int(row[0]),
            "orders": int(row[1]),
            "net revenue (fct_revenue)": float(row[2]),
        }

    def close(self) -> None:
        if self._kafka is not None:
            self._kafka.close()
            self._kafka = None
        if self._con is not None:
            self._con.close()
            self._con = None
