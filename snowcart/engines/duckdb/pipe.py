"""The embedded Snowpipe: bulk-loads new stage files into DuckDB landing tables.

Like Snowflake's COPY INTO with ON_ERROR = CONTINUE: every good line of a file
is loaded, every bad line is kept in ops.load_errors with its file, line number
and reason, and the file is recorded in ops.load_history in the same
transaction as its rows, so a file is loaded exactly once even if the process
dies at any point. Like Snowpipe's load metadata, a file that reappears under a
loaded name with other content is not loaded again: it is reported in
ops.load_skips.
"""

from __future__ import annotations

import hashlib
import zlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow as pa

from snowcart.engines.base import LoadReport
from snowcart.settings import OPS_SCHEMA
from snowcart.stages.local import LocalStage, StagedFile

REQUIRED_FIELD = "event_id"

# Fast path: raw lines read in bulk as one VARCHAR column, with no quoting and a
# delimiter that valid JSON never contains unescaped.
READ_LINES = """
    select row_number() over () as line_number, line, null::varchar as known_reason
    from read_csv(
        $path, columns = {'line': 'VARCHAR'}, header = false, auto_detect = false,
        delim = '\x1f', quote = '', escape = '', max_line_size = 16777216
    )
"""

# Why a line cannot be loaded, or NULL when it is a good event. The common case
# costs one JSON parse: a string event_id at the top level proves the line is a
# valid JSON object; only the other lines are examined further.
CLASSIFY_LINES = f"""
    select
        line_number,
        line,
        case
            when known_reason is not null then known_reason
            when id_type = 'VARCHAR' then null
            when line is null or trim(line) = '' then 'empty line'
            when not json_valid(line) then 'malformed JSON'
            when json_type(line) != 'OBJECT' then 'not a JSON object'
            when id_type is null or id_type = 'NULL'
                then 'missing required field {REQUIRED_FIELD}'
            else 'wrong type for {REQUIRED_FIELD}: ' || id_type
        end as reject_reason
    from (
        select *, try(json_type(line, '$.{REQUIRED_FIELD}')) as id_type
        from {{source}}
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
            file_mtime_ns bigint not null,
            file_sha256 varchar not null,
            line_count bigint not null,
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
    con.execute(
        f"""
        create table if not exists {OPS_SCHEMA}.load_skips (
            file_name varchar not null,
            file_size bigint not null,
            file_sha256 varchar not null,
            reason varchar not null,
            detected_at timestamp not null,
            primary key (file_name, file_sha256)
        )
        """
    )


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class LoadedFile:
    size: int
    mtime_ns: int
    sha256: str


def read_lines_salvaging(path: Path) -> pa.Table:
    """Slow path for a file the bulk reader rejects (bad UTF-8, broken gzip):
    every complete line is kept; what cannot be decoded is marked with a reason."""
    data = path.read_bytes()
    damage = None  # why the end of the file could not be read, if it could not
    if path.name.endswith(".gz"):
        inflater = zlib.decompressobj(wbits=31)
        try:
            data = inflater.decompress(data) + inflater.flush()
            if not inflater.eof:
                damage = "truncated file: compressed stream ends early"
        except zlib.error as error:
            # Keep what inflated before the damage; byte-wise to find the point.
            recovered, inflater = bytearray(), zlib.decompressobj(wbits=31)
            for offset in range(len(data)):
                try:
                    recovered += inflater.decompress(data[offset : offset + 1])
                except zlib.error:
                    break
            data, damage = bytes(recovered), f"corrupt compressed data: {error}"
    pieces = data.split(b"\n")
    complete, tail = pieces[:-1], pieces[-1]
    line_numbers, lines, reasons = [], [], []
    for number, raw in enumerate(complete, start=1):
        line_numbers.append(number)
        try:
            lines.append(raw.decode("utf-8").rstrip("\r"))
            reasons.append(None)
        except UnicodeDecodeError as error:
            lines.append(raw.decode("utf-8", errors="replace"))
            reasons.append(f"invalid UTF-8 at byte {error.start}")
    if tail or damage:
        # The last line of a damaged file is incomplete whatever it looks like.
        line_numbers.append(len(complete) + 1)
        lines.append(tail.decode("utf-8", errors="replace") if tail else None)
        if damage:
            reasons.append(damage)
        else:
            try:
                tail.decode("utf-8")
                reasons.append(None)
            except UnicodeDecodeError as error:
                reasons.append(f"invalid UTF-8 at byte {error.start}")
    return pa.table(
        {
            "line_number": pa.array(line_numbers, pa.int64()),
            "line": pa.array(lines, pa.string()),
            "known_reason": pa.array(reasons, pa.string()),
        }
    )


@dataclass(frozen=True)
class ReadFile:
    """A staged file read and classified, waiting in a temp table to be loaded."""

    staged: StagedFile
    size: int
    mtime_ns: int
    sha256: str
    lines_table: str


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

    def _history(self) -> dict[str, LoadedFile]:
        rows = self.con.execute(
            f"select file_name, file_size, file_mtime_ns, file_sha256 from {OPS_SCHEMA}.load_history"
        ).fetchall()
        return {name: LoadedFile(size, mtime, sha) for name, size, mtime, sha in rows}

    def scan(self) -> tuple[list[StagedFile], list[tuple[StagedFile, int, str]]]:
        """Files never loaded, and loaded names whose content has changed since."""
        history = self._history()
        pending, changed = [], []
        for staged in self.stage.files(self.tables):
            loaded = history.get(staged.name)
            if loaded is None:
                pending.append(staged)
                continue
            try:
                stat = staged.path.stat()
            except FileNotFoundError:
                continue
            if (stat.st_size, stat.st_mtime_ns) != (loaded.size, loaded.mtime_ns):
                digest = file_sha256(staged.path)
                if digest != loaded.sha256:
                    changed.append((staged, stat.st_size, digest))
        return pending, changed

    def pending(self) -> list[StagedFile]:
        return self.scan()[0]

    def _load_timestamp(self) -> datetime:
        """Now (UTC), but always after the previous load, so `_loaded_at` only grows."""
        now = datetime.now(UTC).replace(tzinfo=None)
        (previous,) = self.con.execute(
            f"select max(loaded_at) from {OPS_SCHEMA}.load_history"
        ).fetchone()
        if previous is not None and now <= previous:
            now = previous + timedelta(microseconds=1)
        return now

    def load(self) -> LoadReport:
        """Load every pending file in one transaction; returns what was loaded."""
        pending, changed = self.scan()
        report = LoadReport()
        if not pending and not changed:
            return report
        # Files are read before the transaction: a read error aborts a DuckDB
        # transaction, and a bad file must not stop the good ones.
        prepared = [
            read for index, staged in enumerate(pending) if (read := self._read(staged, index))
        ]
        con = self.con
        loaded_at = self._load_timestamp()
        try:
            con.execute("begin transaction")
            try:
                for read in prepared:
                    rows, errors = self._insert(read, loaded_at)
                    table = read.staged.table
                    report.files += 1
                    report.rows_loaded += rows
                    report.rows_rejected += errors
                    report.files_by_table[table] = report.files_by_table.get(table, 0) + 1
                for staged, size, digest in changed:
                    report.files_skipped += self._record_skip(staged, size, digest, loaded_at)
                con.execute("commit")
            except BaseException:
                con.execute("rollback")
                raise
        finally:
            for read in prepared:
                con.execute(f"drop table if exists {read.lines_table}")
        return report

    def _record_skip(self, staged: StagedFile, size: int, digest: str, seen_at: datetime) -> int:
        (inserted,) = self.con.execute(
            f"""
            insert into {OPS_SCHEMA}.load_skips
            select $name, $size, $digest,
                'already loaded under this name with other content; not reloaded', $seen_at
            where not exists (
                select 1 from {OPS_SCHEMA}.load_skips
                where file_name = $name and file_sha256 = $digest
            )
            """,
            {"name": staged.name, "size": size, "digest": digest, "seen_at": seen_at},
        ).fetchone()
        return inserted

    def _read(self, staged: StagedFile, index: int) -> ReadFile | None:
        """Every line of the file, classified, in a temp table; None if it vanished."""
        con = self.con
        try:
            stat = staged.path.stat()
            digest = file_sha256(staged.path)
        except FileNotFoundError:
            return None
        lines_table = f"staged_lines_{index}"
        try:
            # Read and classified in one statement (no intermediate copy).
            con.execute(
                f"create or replace temp table {lines_table} as "
                + CLASSIFY_LINES.format(source=f"({READ_LINES})"),
                {"path": str(staged.path)},
            )
        except duckdb.Error:
            salvaged = read_lines_salvaging(staged.path)  # noqa: F841 (read by DuckDB by name)
            con.execute(
                f"create or replace temp table {lines_table} as "
                + CLASSIFY_LINES.format(source="salvaged")
            )
        return ReadFile(staged, stat.st_size, stat.st_mtime_ns, digest, lines_table)

    def _insert(self, read: ReadFile, loaded_at: datetime) -> tuple[int, int]:
        con = self.con
        params = {"file_name": read.staged.name, "loaded_at": loaded_at}
        (rows,) = con.execute(
            f"""
            insert into {self.raw_schema}.{read.staged.table}
                (payload, _file_name, _file_row_number, _loaded_at)
            select json(line), $file_name, line_number, $loaded_at
            from {read.lines_table}
            where reject_reason is null
            order by line_number
            """,
            params,
        ).fetchone()
        (errors,) = con.execute(
            f"""
            insert into {OPS_SCHEMA}.load_errors
            select $file_name, line_number, line, reject_reason, $loaded_at
            from {read.lines_table}
            where reject_reason is not null
            """,
            params,
        ).fetchone()
        con.execute(
            f"insert into {OPS_SCHEMA}.load_history values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                read.staged.name,
                read.staged.table,
                read.size,
                read.mtime_ns,
                read.sha256,
                rows + errors,
                rows,
                errors,
                loaded_at,
            ],
        )
        return rows, errors
