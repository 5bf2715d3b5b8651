"""Which engine runs the models: the one place that picks it from the target."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from snowcart.engines.base import Engine
    from snowcart.settings import Settings


def engine_for(settings: Settings) -> Engine:
    """`dev`: embedded DuckDB; `snowflake` (and the tests' `fakesnow`): Snowflake."""
    if settings.target == "dev":
        from snowcart.engines.duckdb import DuckDBEngine

        return DuckDBEngine(settings)
    if settings.kafka is not None:
        from snowcart.errors import ConfigError

        raise ConfigError(
            "Kafka topics load into the embedded engine (--target dev) so far; on Snowflake, "
            "Snowpipe Streaming or the Kafka connector is not wired yet"
        )
    from snowcart.engines.snowflake import SnowflakeEngine

    return SnowflakeEngine(settings)
