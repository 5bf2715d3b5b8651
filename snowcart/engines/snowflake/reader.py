"""The marts in Snowflake, read as the reporter role (the dashboard's reader)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pandas as pd

from snowcart.engines.base import MartQuery, MartReader, NotReady, normalise
from snowcart.engines.snowflake.connection import SnowflakeConfig, connect
from snowcart.errors import ConfigError


class SnowflakeReader(MartReader):
    """The dynamic tables in Snowflake, read as the reporter role. Snowflake
    keeps no ops tables of ours: pipeline health shows n/a there."""

    def __init__(self, config: SnowflakeConfig) -> None:
        self.config = config
        self.description = f"Snowflake {config.account} / {config.database}.analytics"
        self._con = None  # one connection, shared by the app's sessions

    def _connection(self):
        if self._con is None or self._con.is_closed():
            try:
                self._con = connect(
                    self.config,
                    schema="analytics",
                    role=self.config.reporter_role or self.config.role,
                    paramstyle="qmark",
                )
            except ConfigError as error:
                raise NotReady(f"Cannot connect to Snowflake: {error}") from error
        return self._con

    @contextmanager
    def open(self) -> Iterator[MartQuery]:
        import snowflake.connector

        con = self._connection()

        def query(sql: str, params: Sequence[object] = ()) -> pd.DataFrame:
            cursor = con.cursor()
            try:
                cursor.execute(sql, list(params))
                columns = [column.name.lower() for column in cursor.description]
                return normalise(pd.DataFrame(cursor.fetchall(), columns=columns))
            except snowflake.connector.errors.ProgrammingError as error:
                if error.errno == 2003:  # does not exist or not authorized: not built yet
                    return pd.DataFrame()
                raise
            finally:
                cursor.close()

        yield query
