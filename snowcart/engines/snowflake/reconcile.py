"""Reconcile's counts in Snowflake. The pipes land every line of a file as text
(sql/pipe.sql), so a landing table holds each file's lines: the ones that are
no event are in quarantine.qrn_shop__unloadable_lines, with their reason. What
a base model has not consumed is what its stream on the landing table still
holds: a SELECT reads a stream without moving its offset (only DML does)."""

from __future__ import annotations

from snowcart.engines.snowflake.connection import SnowflakeConfig, connect
from snowcart.engines.snowflake.plan import TRANSFORMER
from snowcart.engines.snowflake.warehouse import staged_name
from snowcart.errors import SnowcartError
from snowcart.reconcile import EVENT_MODELS, OpenCounts, TableCounts, staged_counts_sql
from snowcart.settings import identifier, raw_schema

UNLOADABLE_LINES = "quarantine.qrn_shop__unloadable_lines"


class SnowflakeLoadCounts(OpenCounts):
    """Counted as the transformer role, which reads the landing tables, their
    streams and everything staging builds (sql/transformer_grants.sql)."""

    # A file's lines in its landing table are all there is: Snowflake's own
    # load history (COPY_HISTORY) has no digest of a file to compare with.
    has_load_history = False

    def __init__(self, config: SnowflakeConfig, raw: str | None = None) -> None:
        self.config = config
        self.raw = identifier(raw or raw_schema(), "raw schema")

    def stage_objects(self) -> None:
        return None  # an S3 stage's pipes read the bucket themselves (AUTO_INGEST)

    def connect(self):
        return connect(self.config, schema=self.raw, role=TRANSFORMER)

    def _query(self, sql: str, params: tuple = ()) -> list[tuple]:
        import snowflake.connector

        try:
            return self.con.cursor().execute(sql, params).fetchall()
        except snowflake.connector.errors.ProgrammingError as error:
            raise SnowcartError(
                f"Snowflake refused a count ({error.msg}): run python scripts/setup.py --target "
                "snowflake and let the pipeline build once (python scripts/simulate.py "
                "--target snowflake --events 0)"
            ) from error

    def count_loads(self, counts: TableCounts) -> None:
        table = identifier(counts.table, "landing table")
        # A file on the stage is named as PUT names it (AUTO_COMPRESS adds .gz):
        # counted under the name the local stage and the ledger give it.
        local_names = {staged_name(name): name for name in counts.files}
        landed = self._query(
            f"select _file_name, count(*) from {self.raw}.{table} group by _file_name"
        )
        for file_name, lines in landed:
            counts.file(local_names.get(file_name, file_name)).pipe = int(lines)
        counts.loaded_files = len(landed)
        ((rejected,),) = self._query(
            f"select count(*) from {UNLOADABLE_LINES} where table_name = %s", (counts.table,)
        )
        counts.rejected = int(rejected)
        counts.loaded = sum(int(lines) for _, lines in landed) - counts.rejected

    def count_consumed(self, counts: TableCounts) -> None:
        table = identifier(counts.table, "landing table")
        model = EVENT_MODELS[counts.table]
        # The events the stream still holds: landed, not consumed yet.
        ((pending,),) = self._query(
            f"""
            select count(*) from {self.raw}.{table}__{model} as pending
            where not exists (
                select 1 from {UNLOADABLE_LINES} as unloadable
                where unloadable.table_name = %s
                    and unloadable._file_name = pending._file_name
                    and unloadable._file_row_number = pending._file_row_number
            )
            """,
            (counts.table,),
        )
        counts.consumed = counts.loaded - int(pending)
        ((deduplicated, valid, quarantined),) = self._query(staged_counts_sql(model))
        counts.deduplicated, counts.valid = int(deduplicated), int(valid)
        counts.quarantined = int(quarantined)
        counts.duplicates = counts.consumed - counts.deduplicated
