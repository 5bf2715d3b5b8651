"""Errors a user can act on; scripts print them as one line and exit non-zero."""


class SnowcartError(Exception):
    """A problem with input or configuration, explained in the message."""


class ConfigError(SnowcartError):
    """Missing or invalid configuration (flags, environment, profile)."""


class BuildError(SnowcartError):
    """A dbt invocation failed; the message names the failing nodes."""

    def __init__(
        self,
        message: str,
        failed_nodes: list[str] | None = None,
        skipped_nodes: list[str] | None = None,
    ) -> None:
        super().__init__(message)
        # unique_ids of the nodes that failed (empty: the invocation itself
        # failed), and of those skipped because something upstream failed.
        self.failed_nodes = failed_nodes or []
        self.skipped_nodes = skipped_nodes or []


class WarehouseDamaged(SnowcartError):
    """A warehouse file failed DuckDB's checks (a block's checksum, its length)."""

    def __init__(self, path: object, cause: str) -> None:
        super().__init__(f"the warehouse {path} is damaged ({cause})")
        self.path = path
        self.cause = cause
