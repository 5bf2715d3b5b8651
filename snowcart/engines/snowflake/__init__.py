"""The production engine: an internal (or S3) stage, Snowpipe, streams, tasks
and dynamic tables in a Snowflake account."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import threading

    from snowcart.engines.base import SetupOptions
    from snowcart.engines.snowflake.reader import SnowflakeReader
    from snowcart.engines.snowflake.reconcile import SnowflakeLoadCounts
    from snowcart.engines.snowflake.warehouse import SnowflakeWarehouse
    from snowcart.settings import Settings


@dataclass(frozen=True)
class SnowflakeEngine:
    settings: Settings

    def setup(self, options: SetupOptions, stop: threading.Event | None = None) -> bool:
        from snowcart.engines.snowflake.setup import setup_snowflake

        return setup_snowflake(self.settings, options, stop)

    def open_warehouse(self) -> SnowflakeWarehouse:
        from snowcart.engines.snowflake.warehouse import SnowflakeWarehouse

        return SnowflakeWarehouse(self.settings)

    def open_reader(self) -> SnowflakeReader:
        from snowcart.engines.snowflake.connection import SnowflakeConfig
        from snowcart.engines.snowflake.reader import SnowflakeReader

        return SnowflakeReader(SnowflakeConfig.for_target(self.settings.target))

    def open_load_counts(self) -> SnowflakeLoadCounts:
        from snowcart.engines.snowflake.connection import SnowflakeConfig
        from snowcart.engines.snowflake.reconcile import SnowflakeLoadCounts
        from snowcart.settings import raw_schema

        return SnowflakeLoadCounts(
            SnowflakeConfig.for_target(self.settings.target), raw_schema(self.settings.project_dir)
        )
