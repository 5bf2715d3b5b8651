"""Which engine runs the models: the one place that picks it from the target."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snowcart.engines.base import Engine
    from snowcart.settings import Settings


def engine_for(settings: Settings) -> Engine:
    """`dev`: embedded DuckDB; `snowflake` (and the tests' `fakesnow`): Snowflake,
    Kafka topics through Snowpipe Streaming (engines/snowflake/kafka_streaming.py)."""
    if settings.target == "dev":
        from snowcart.engines.duckdb import DuckDBEngine

        return DuckDBEngine(settings)
    from snowcart.engines.snowflake import SnowflakeEngine

    return SnowflakeEngine(settings)
