"""The marts in Snowflake, read as the reporter role (the dashboard's reader)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager

import pandas as pd

from snowcart.engines.base import MartQuery, MartReader, NotReady, normalise
from snowcart.engines.snowflake.connection import SnowflakeConfig, connect
from snowcart.errors import ConfigError

MART_SCHEMA = "analytics"
MART_PREFIX = "rpt_"
# Descriptions are the objects' comments: dbt writes them with `persist_docs`,
# which this project does not turn on (empty descriptions until it does).
TABLES_SQL = (
    "select table_schema, table_name, comment from information_schema.tables"
    " where lower(table_schema) = ? order by table_name"
)
COLUMNS_SQL = (
    "select table_name, column_name, data_type, comment from information_schema.columns"
    " where lower(table_schema) = ? order by table_name, ordinal_position"
)


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

    def mart_catalog(self, query: MartQuery) -> pd.DataFrame:
        """The report marts of the analytics schema, from information_schema:
        names as Snowflake stores them (upper case), comments as descriptions."""
        tables = query(TABLES_SQL, [MART_SCHEMA])
        rows = []
        if not tables.empty:
            columns = query(COLUMNS_SQL, [MART_SCHEMA])
            for table in tables.itertuples(index=False):
                if not str(table.table_name).lower().startswith(MART_PREFIX):
                    continue
                described = [
                    {
                        "name": column.column_name,
                        "data_type": column.data_type,
                        "description": column.comment or "",
                    }
                    for column in columns.itertuples(index=False)
                    if column.table_name == table.table_name
                ]
                rows.append(
                    (
                        table.table_schema,
                        table.table_name,
                        table.comment or "",
                        json.dumps(described),
                    )
                )
        return pd.DataFrame(rows, columns=["schema_name", "mart", "description", "columns"])
