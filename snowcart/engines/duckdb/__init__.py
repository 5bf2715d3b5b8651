"""The embedded engine: a DuckDB file, a folder stage, an in-process pipe and
streams, and a serving file readers open while the pipeline writes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading

    from snowcart.engines.base import SetupOptions
    from snowcart.engines.duckdb.reconcile import DuckDBLoadCounts
    from snowcart.engines.duckdb.serving import ServingReader
    from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
    from snowcart.settings import Settings


@dataclass(frozen=True)
class DuckDBEngine:
    settings: Settings

    def setup(self, options: SetupOptions, stop: threading.Event | None = None) -> bool:
        from snowcart.engines.duckdb.setup import setup_embedded

        return setup_embedded(self.settings, options)

    def open_warehouse(self) -> DuckDBWarehouse:
        from snowcart.engines.duckdb.warehouse import DuckDBWarehouse

        return DuckDBWarehouse(self.settings)

    def open_reader(self) -> ServingReader:
        from snowcart.engines.duckdb.serving import ServingReader

        return ServingReader(self.settings.serving_path)

    def open_load_counts(self) -> DuckDBLoadCounts:
        from snowcart.engines.duckdb.reconcile import DuckDBLoadCounts

        mirror = None
        if self.settings.s3_stage is not None:
            from snowcart.stages.s3 import S3Mirror

            mirror = S3Mirror(self.settings.s3_stage, self.settings.stage_dir,
                              self.settings.s3_mirror_path)  # fmt: skip
        return DuckDBLoadCounts(self.settings.warehouse_path, mirror)
