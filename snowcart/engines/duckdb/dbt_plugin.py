"""A dbt-duckdb plugin (profiles.yml: `plugins: [{module: ...dbt_plugin}]`) that
turns a warehouse held by another process into one line. Without it, dbt meets
DuckDB's lock error, rolls back on the connection it could not open, meets it
again, and prints both tracebacks (about 230 lines)."""

from __future__ import annotations

import os
from typing import Any

import duckdb
from dbt.adapters.duckdb.plugins import BasePlugin
from dbt_common.exceptions import DbtRuntimeError

from snowcart.engines.duckdb.lock import holder, is_lock_error


class Plugin(BasePlugin):
    def update_connection_config(self, creds: Any, config: dict[str, Any]) -> None:
        # dbt-duckdb connects right after this hook, with this path and config.
        # The open connection is kept: dbt's own connect then joins this DuckDB
        # instance instead of opening the file a second time.
        try:
            self._held = duckdb.connect(creds.path, read_only=False, config=dict(config))
        except duckdb.IOException as error:
            if not is_lock_error(error):
                raise
            raise DbtRuntimeError(in_use_by_another_process(creds.path, error)) from None


def in_use_by_another_process(path: str, error: BaseException) -> str:
    return (
        f"the warehouse {os.path.abspath(path)} is in use by {holder(error)}. Stop it (Ctrl-C: a pipeline "
        "drains first) and run dbt again, or point dbt at another home "
        "(SNOWCART_HOME=DIR dbt build). Lineage and column docs while it runs: "
        "python scripts/docs.py"
    )
