"""The embedded Snowpipe: bulk-loads new stage files into DuckDB landing tables.

Like Snowflake's COPY INTO with ON_ERROR = CONTINUE: every good line of a file
is loaded, every bad line is kept in ops.load_errors with its file, line number
and reason, and the file is recorded in ops.load_history in the same
transaction as its rows, so a file is loaded exactly once even if the process
dies at any point.
"""

from __future__ import annotations

import hashlib
from datetime import datetime, timedelta, timezone

import duckdb

from snowcart.backends import LoadReport
from snowcart.stage import LocalStage, StagedFile

OPS_SCHEMA = "ops"

# Raw lines read as one VARCHAR column: no quoting, and a delimiter that valid
# JSON never contains unescaped (control characters must be escaped in JSON).
READ_LINES = """
    select
        line_number,
        line,
        case when json_valid(line) then json_type(line) end = 'OBJECT' as is_event,
        case when json_valid(line) then 'not a JSON object' else 'malformed JSON' end
            as reject_reason
    from (
        select row_number() over () as line_number, line
        from read_csv(
            $path, columns = {'line': 'VARCHAR'}, header = false, auto_detect = false,
            delim = '\x1f', quote = '', escape = '', max_line_size = 16777216
        )
    )
"""


def create_load_metadata(con: duckdb.DuckDBPyConnection) -> None:
    con.execute(f"create schema if not exists {OPS_SCHEMA}")
    con.execute(
        f"""
        create table if not exists {OPS_SCHEMA}.load_history (
            file_name varchar primary key,
            table_name varchar not null,
            file_size bigint not null,
            file_sha256 varchar not null,
            row_count bigint not null,
            error_count bigint not null,
            loaded_at timestamp not null
        )
        """
    )
    con.execute(
        f"""
        create table if not exists {OPS_SCHEMA}.load_errors (
            file_name varchar not null,
            line_number bigint not null,
            raw_line varchar,
            reason varchar not null,
            loaded_at timestamp not null
        )
        """
    )


def file_sha256(path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


class EmbeddedPipe:
    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        stage: LocalStage,
        tables: list[str],
        raw_schema: str,
    ) -> None:
        self.con = con
        self.stage = stage
        self.tables = tables
        self.raw_schema = raw_schema

    def pending(self) -> list[StagedFile]:
        loaded = {
            row[0]
            for row in self.con.execute(
                f"select file_name from {OPS_SCHEMA}.load_history"
            ).fetchall()
        }
        return [staged for staged in self.stage.files(self.tables) if staged.name not in loaded]

    def _load_timestamp(self) -> datetime:
        """Now (UTC), but always after the previous load, so `_loaded_at` only grows."""
        now = datetime.now(timezone.utc).replace(tzinfo=None)
        (previous,) = self.con.execute(
            f"select max(loaded_at) from {OPS_SCHEMA}.load_history"
        ).fetchone()
        if previous is not None and now <= previous:
            now = previous + timedelta(microseconds=1)
        return now

    def load(self) -> LoadReport:
        """Load every pending file in one transaction; returns what was loaded."""
        pending = self.pending()
        report = LoadReport()
        if not pending:
            return report
        con = self.con
        loaded_at = self._load_timestamp()
        con.execute("begin transaction")
        try:
            for staged in pending:
                rows, errors = self._load_file(staged, loaded_at)
                report.files += 1
                report.rows_loaded += rows
                report.rows_rejected += errors
                report.files_by_table[staged.table] = report.files_by_table.get(staged.table, 0) + 1
            con.execute("commit")
        except BaseException:
            con.execute("rollback")
            raise
        return report

    def _load_file(self, staged: StagedFile, loaded_at: datetime) -> tuple[int, int]:
        con = self.con
        params = {"path": str(staged.path)}
        con.execute(f"create or replace temp table staged_lines as {READ_LINES}", params)
        (rows,) = con.execute(
            f"""
            insert into {self.raw_schema}.{staged.table}
                (payload, _file_name, _file_row_number, _loaded_at)
            select json(line), $file_name, line_number, $loaded_at
            from staged_lines
            where is_event
            order by line_number
            """,
            {"file_name": staged.name, "loaded_at": loaded_at},
        ).fetchone()
        (errors,) = con.execute(
            f"""
            insert into {OPS_SCHEMA}.load_errors
            select $file_name, line_number, line, reject_reason, $loaded_at
            from staged_lines
            where not coalesce(is_event, false)
            """,
            {"file_name": staged.name, "loaded_at": loaded_at},
        ).fetchone()
        con.execute(
            f"insert into {OPS_SCHEMA}.load_history values (?, ?, ?, ?, ?, ?, ?)",
            [
                staged.name,
                staged.table,
                staged.path.stat().st_size,
                file_sha256(staged.path),
                rows,
                errors,
                loaded_at,
            ],
        )
        con.execute("drop table staged_lines")
        return rows, errors
