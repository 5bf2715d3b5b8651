"""Embedded default: a DuckDB file under the home folder, loaded by the embedded pipe."""

from __future__ import annotations

import duckdb

from snowcart.backends import LoadReport
from snowcart.pipe import EmbeddedPipe, create_load_metadata
from snowcart.settings import Settings, landing_tables, raw_schema
from snowcart.stage import LocalStage
from snowcart.transform import Dbt


class DuckDBWarehouse:
    def __init__(self, settings: Settings, dbt: Dbt | None = None) -> None:
        self.settings = settings
        self.dbt = dbt or Dbt(settings)
        self.stage = LocalStage(settings.stage_dir)
        self._con: duckdb.DuckDBPyConnection | None = None

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
        self.dbt.run_operation("create_landing_tables")
        create_load_metadata(self.con)

    def ingest(self) -> LoadReport:
        return self._pipe().load()

    def build(self) -> None:
        self.dbt.build()

    def pending_files(self) -> int:
        return len(self._pipe().pending())

    def totals(self) -> dict[str, float]:
        row = self.con.execute(
            """
            select
                (select count(*) from analytics.fct_sales),
                (select count(distinct order_id) from analytics.fct_sales),
                (select coalesce(sum(net_revenue), 0) from analytics.fct_sales),
                (select count(*) from analytics.rpt_sales_per_minute),
                (select coalesce(sum(net_revenue), 0) from analytics.rpt_sales_per_minute),
                (select count(*) from ops.load_errors)
            """
        ).fetchone()
        keys = [
            "fct_sales rows",
            "orders",
            "fct_sales net_revenue",
            "rpt_sales_per_minute rows",
            "rpt_sales_per_minute net_revenue",
            "load errors",
        ]
        return dict(zip(keys, (float(value) for value in row), strict=True))

    def close(self) -> None:
        if self._con is not None:
            self._con.close()
            self._con = None
