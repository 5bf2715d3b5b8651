"""Embedded default: a DuckDB file under the home folder, loaded by the embedded pipe."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime

import duckdb

from snowcart.engines.base import Health, LoadReport
from snowcart.engines.dbt_runner import Dbt
from snowcart.engines.duckdb import quality, serving
from snowcart.engines.duckdb.health import find_damage
from snowcart.engines.duckdb.kafka_load import KafkaLoader, create_offsets_table
from snowcart.engines.duckdb.pipe import EmbeddedPipe, create_load_metadata
from snowcart.engines.duckdb.streams import EmbeddedStreams
from snowcart.errors import BuildError, WarehouseDamaged
from snowcart.settings import Settings, landing_tables, raw_schema, stream_consumers
from snowcart.stages.local import LocalStage

REFRESH_LOG_DDL = """
    create table if not exists ops.refresh_log (
        started_at timestamp not null,
        job varchar not null,
        status varchar not null,
        duration_s double not null,
        rows_processed bigint not null,
        newest_event_at timestamp,
        lag_s double,
        error varchar
    )
"""
MART_FRESHNESS_DDL = """
    create table if not exists ops.mart_freshness (
        mart varchar primary key,
        published_at timestamp not null,
        newest_event_at timestamp,
        lag_s double
    )
"""


def kafka_fields(lag: list[tuple[str, int, int, int, int]]) -> dict[str, int | str]:
    """The live status's lines for a Kafka source (ops.kafka_lag has every partition)."""
    behind = [f"{topic}/{partition}: {n:,}" for topic, partition, *_, n in lag if n]
    return {"Kafka lag (records)": sum(row[-1] for row in lag),
            "Kafka lag by partition": ", ".join(behind) or "none"}  # fmt: skip


class DuckDBWarehouse:
    # The scheduler refreshes the dynamic-table marts (Snowflake does it itself).
    refreshes_marts_itself = False

    def __init__(self, settings: Settings, dbt: Dbt | None = None) -> None:
        self.settings = settings
        self.dbt = dbt or Dbt(settings)
        self.stage = LocalStage(settings.stage_dir)
        # An S3 stage is brought into the local stage folder, where the pipe loads it.
        self.mirror = None
        if settings.s3_stage is not None:
            from snowcart.stages.s3 import S3Mirror

            self.mirror = S3Mirror(settings.s3_stage, settings.stage_dir,
                                   settings.s3_mirror_path, settings.sqs_queue_url)  # fmt: skip
        self._kafka: KafkaLoader | None = None
        self._con: duckdb.DuckDBPyConnection | None = None
        self._newest_sale: datetime | None = None
        self._catalog_key: tuple | None = None

    @property
    def con(self) -> duckdb.DuckDBPyConnection:
        # dbt-duckdb opens the same file in this process with default settings,
        # so both share one DuckDB instance and see each other's commits.
        if self._con is None:
            self._con = duckdb.connect(str(self.settings.warehouse_path))
        return self._con

    def _pipe(self) -> EmbeddedPipe:
        return EmbeddedPipe(
            self.con,
            self.stage,
            landing_tables(self.settings.project_dir),
            raw_schema(self.settings.project_dir),
        )

    def setup(self) -> None:
        # Opened before dbt: a file DuckDB cannot open (damaged, locked) fails
        # here with DuckDB's reason, not as a dbt operation that "failed".
        self.con.execute("select 1")
        self.dbt.run_operation("create_landing_tables")
        create_load_metadata(self.con)
        create_offsets_table(self.con)
        self.con.execute(REFRESH_LOG_DDL)
        self.con.execute(MART_FRESHNESS_DDL)
        quality.create_tables(self.con)

    def consumers_with_data(self) -> list[str]:
        """Stream-consuming models with unconsumed rows (SYSTEM$STREAM_HAS_DATA)."""
        streams = EmbeddedStreams(self.con, raw_schema(self.settings.project_dir))
        return [
            model
            for table, models in stream_consumers(self.settings.project_dir).items()
            for model in models
            if streams.has_data(table, model)
        ]

    def record_health(self) -> Health:
        """ops.data_quality, ops.consumer_lag, ops.stage_status and ops.kafka_lag,
        published with the marts."""
        streams = EmbeddedStreams(self.con, raw_schema(self.settings.project_dir))
        consumers = stream_consumers(self.settings.project_dir)
        if self.settings.kafka is None:
            return quality.record(self.con, streams, consumers, self.stage_health())
        lag = self._kafka_loader().partition_lag()
        return quality.record(self.con, streams, consumers, kafka_fields(lag), lag)

    def newest_sale_at(self) -> datetime | None:
        # Above the last answer as a literal: new orders sit in the newest row
        # groups, so DuckDB's zonemaps skip the history (a full scan otherwise).
        floor = f"where ordered_at >= '{self._newest_sale}'" if self._newest_sale else ""
        (newest,) = self.con.execute(
            f"select max(ordered_at) from analytics.fct_sales {floor}"
        ).fetchone()
        self._newest_sale = newest or self._newest_sale
        return self._newest_sale

    def freshness_lag_s(self) -> float | None:
        """Seconds from the newest order in the live mart to now; None before
        the mart was first built (a drain of a fresh home loads first)."""
        try:
            (newest,) = self.con.execute(
                "select max(newest_ordered_at) from analytics.rpt_sales_per_minute"
            ).fetchone()
        except duckdb.CatalogException:
            return None
        if newest is None:
            return None
        return (datetime.now(UTC).replace(tzinfo=None) - newest).total_seconds()

    def record_refresh(
        self, job: str, started_at: float, duration_s: float, status: str, rows: int,
        error: str | None,
    ) -> None:  # fmt: skip
        newest = self.newest_sale_at() if status == "success" else None
        started = datetime.fromtimestamp(started_at, UTC).replace(tzinfo=None)
        lag = (started - newest).total_seconds() + duration_s if newest else None
        self.con.execute(
            "insert into ops.refresh_log values (?, ?, ?, ?, ?, ?, ?, ?)",
            [started, job, status, duration_s, rows, newest, lag, error],
        )

    def publish(self, marts: list[str]) -> None:
        """Publish every report mart of the project the warehouse holds
        (`rpt_*`: a mart removed from the project is no longer published; dbt
        leaves its table behind), the dimensions, freshness and the mart
        catalog to the serving file, atomically. `marts`: those whose
        freshness is recorded."""
        in_project = set(self.dbt.lineage().parents)
        existing = [mart for mart in serving.report_marts(self.con) if mart in in_project]
        marts = [mart for mart in marts if mart in existing]  # a mart never built yet
        now = datetime.now(UTC).replace(tzinfo=None)
        newest = self.newest_sale_at()
        lag = (now - newest).total_seconds() if newest else None
        self.con.executemany(
            "insert or replace into ops.mart_freshness values (?, ?, ?, ?)",
            [[mart, now, newest, lag] for mart in marts],
        )
        self._write_catalog(existing)
        tables = [("analytics", mart) for mart in existing]
        tables += [("analytics", dim) for dim in ("dim_dates", "dim_geography")]
        tables += [("ops", table) for table in serving.OPS_TABLES]
        serving.publish(self.con, self.settings.serving_path, tables)

    def _write_catalog(self, marts: list[str]) -> None:
        """ops.mart_catalog, rewritten only when the marts' columns or the
        manifest (their descriptions) changed: not at every publication."""
        columns = serving.mart_columns(self.con, marts)
        key = (self.dbt.manifest_version, tuple(columns))
        if key == self._catalog_key:
            return
        serving.write_catalog(self.con, columns, self.dbt.model_docs(set(marts)))
        # The docs may have parsed the project again: key on what they came from.
        self._catalog_key = (self.dbt.manifest_version, tuple(columns))

    def _kafka_loader(self) -> KafkaLoader:
        """The topics' consumer, connected on first use (a broker that is not
        there is a one-line error then)."""
        if self._kafka is None:
            from snowcart.engines.duckdb.kafka_load import stored_offsets
            from snowcart.stages.kafka import TopicFeed

            feed = TopicFeed(
                self.settings.kafka, landing_tables(self.settings.project_dir),
                lambda: stored_offsets(self.con),
            )  # fmt: skip
            self._kafka = KafkaLoader(self.con, feed, raw_schema(self.settings.project_dir))
        return self._kafka

    def ingest(self) -> LoadReport:
        if self.settings.kafka is not None:
            return self._kafka_loader().load()
        if self.mirror is None:
            return self._pipe().load()
        fetched = self.mirror.fetch()
        report = self._pipe().load()
        # Only now, with what they announced committed, may the notices go.
        self.mirror.acknowledge(fetched)
        report.skipped += fetched.ignored
        report.files_skipped += len(fetched.ignored)
        return report

    def build(self) -> None:
        try:
            self.dbt.build()
        except BuildError as error:
            # dbt names the nodes that failed, not why: a damaged file is said so.
            problem = None
            with contextlib.suppress(duckdb.Error):
                problem = find_damage(self.con)
            if problem is not None:
                raise WarehouseDamaged(self.settings.warehouse_path, problem) from error
            raise

    def stage_health(self) -> dict[str, int | float | str]:
        if self.settings.kafka is not None:
            return kafka_fields(self._kafka_loader().partition_lag())
        if self.mirror is None:
            return {}
        from snowcart.stages.s3 import aws_error

        try:
            return self.mirror.health()
        except Exception as error:  # botocore's errors: the status says it, the loop goes on
            return {"S3 stage": aws_error(error, "unreachable").args[0][:100]}

    def pending_files(self) -> int:
        if self.settings.kafka is not None:
            return self._kafka_loader().pending()
        unfetched = self.mirror.pending() if self.mirror is not None else 0
        return len(self._pipe().pending()) + unfetched

    def totals(self) -> dict[str, int | float]:
        row = self.con.execute(
            """
            select
                (select count(*) from analytics.fct_sales),
                (select count(distinct order_id) from analytics.fct_sales),
                (select coalesce(sum(net_revenue), 0) from analytics.fct_revenue),
                (select count(*) from analytics.rpt_sales_per_minute),
                (select coalesce(sum(net_revenue), 0) from analytics.rpt_sales_per_minute),
                (select count(*) from ops.load_errors)
            """
        ).fetchone()
        keys = [
            "fct_sales rows",
            "orders",
            "net revenue (fct_revenue)",
            "rpt_sales_per_minute rows",
            "rpt_sales_per_minute net_revenue",
            "load errors",
        ]
        # Counts stay integers, money becomes a float.
        values = (value if isinstance(value, int) else float(value) for value in row)
        return dict(zip(keys, values, strict=True))

    def close(self) -> None:
        if self._kafka is not None:
            self._kafka.feed.close()
            self._kafka = None
        if self._con is not None:
            self._con.close()
            self._con = None
