"""The embedded Snowpipe: bulk-loads new stage files into DuckDB landing tables.

Like Snowflake's COPY INTO with ON_ERROR = CONTINUE: every good line of a file
is loaded, every bad line is kept in ops.load_errors with its file, line number
and reason, and the file is recorded in ops.load_history in the same
transaction as its rows, so a file is loaded exactly once even if the process
dies at any point. Like Snowpipe's load metadata, a file that reappears under a
loaded name with other content is not loaded again. That file, and every entry
of the stage that is not loaded (snowcart/stages/local.py: other names and
folders, directories, FIFOs, symlinks out of the stage, files that cannot be
read), is reported once in ops.load_skips with its reason, and the rest loads.
Lines are split as snowcart/stages/lines.py defines them, the definition
reconcile counts by.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import BinaryIO

import duckdb
import pyarrow as pa

from snowcart.engines.base import LoadReport
from snowcart.settings import OPS_SCHEMA
from snowcart.stages import lines
from snowcart.stages.local import LocalStage, SkippedEntry, StagedFile, glob_free, unreadable

REQUIRED_FIELD = "event_id"

# Fast path: raw lines read in bulk as one VARCHAR column, with no quoting and a
# delimiter that valid JSON never contains unescaped. Used only for files whose
# lines all end in a plain LF (lines.FileFacts.lf_only), where splitting on LF
# gives the lines of stages/lines.py; the line count is checked after each read.
READ_LINES = """
    select row_number() over () as line_number, line, null::varchar as known_reason
    from read_csv(
        $path, columns = {'line': 'VARCHAR'}, header = false, auto_detect = false,
        delim = '\x1f', quote = '', escape = '', max_line_size = 16777216,
        new_line = '\\n', compression = $compression
    )
"""
CHANGED_AFTER_LOAD = "already loaded under this name with other content; not reloaded"
# Recorded skips of entries that were never read carry no checksum.
NOT_READ = ""

# Why a line cannot be loaded, or NULL when it is a good event. The common case
# costs one JSON parse: a string event_id at the top level proves the line is a
# valid JSON object; only the other lines are examined further.
CLASSIFY_LINES = f"""
    select
        * exclude (id_type, known_reason),
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


@dataclass(frozen=True)
class LoadedFile:
    size: int
    mtime_ns: int
    sha256: str


def salvaged_lines(handle: BinaryIO, compressed: bool) -> pa.Table:
    """Slow path for a file the bulk reader cannot take (CR line ends, bad UTF-8,
    damaged gzip): every line by stages/lines.py, what cannot be decoded marked."""
    read = lines.read_lines(handle, compressed)
    return pa.table(
        {
            "line_number": pa.array([number for number, _, _ in read], pa.int64()),
            "line": pa.array([text for _, text, _ in read], pa.string()),
            "known_reason": pa.array([reason for _, _, reason in read], pa.string()),
        }
    )


@dataclass
class StageScan:
    """What the stage holds for the pipe now."""

    pending: list[StagedFile] = field(default_factory=list)
    # Loaded names whose content has changed since: (file, size, checksum).
    changed: list[tuple[StagedFile, int, str]] = field(default_factory=list)
    skipped: list[SkippedEntry] = field(default_factory=list)


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

    def scan(self) -> StageScan:
        """Files never loaded, loaded names whose content has changed since, and
        the entries of the stage that are not loaded."""
        history = self._history()
        listing = self.stage.listing(self.tables)
        scan = StageScan(skipped=listing.skipped)
        for staged in listing.files:
            loaded = history.get(staged.name)
            if loaded is None:
                scan.pending.append(staged)
                continue
            try:
                stat = os.stat(staged.target or staged.path)
            except FileNotFoundError:
                continue
            if (stat.st_size, stat.st_mtime_ns) != (loaded.size, loaded.mtime_ns):
                try:
                    with self.stage.open(staged) as handle:
                        size, digest = _checksum(handle)
                except OSError:
                    continue  # not loaded again either way
                if digest != loaded.sha256:
                    scan.changed.append((staged, size, digest))
        return scan

    def pending(self) -> list[StagedFile]:
        """Files the next load will load: never one it would skip, so a drain
        that waits for this to be empty always ends."""
        readable = []
        for staged in self.scan().pending:
            try:
                self.stage.open(staged).close()
            except OSError:
                continue
            readable.append(staged)
        return readable

    def _load_timestamp(self) -> datetime:
        """Now (UTC), but always after the previous load, so `_loaded_at` only grows."""
        now = datetime.now(UTC).replace(tzinfo=None)
        (previous,) = self.con.execute(
            f"select max(loaded_at) from {OPS_SCHEMA}.load_history"
        ).fetchone()
        if previous is not None and now <= previous:
            now = previous + timedelta(microseconds=1)
        return now

    def _skipped_before(self) -> set[tuple[str, str]]:
        """(name, checksum) of every skip recorded: NOT_READ for an entry never read."""
        rows = self.con.execute(f"select file_name, file_sha256 from {OPS_SCHEMA}.load_skips")
        return set(rows.fetchall())

    def load(self) -> LoadReport:
        """Load every pending file in one transaction; returns what was loaded and
        what was newly skipped. A file that cannot be read is skipped, not fatal."""
        scan = self.scan()
        report = LoadReport()
        recorded = self._skipped_before()
        skipped_before = {name for name, digest in recorded if digest == NOT_READ}
        changed = [item for item in scan.changed if (item[0].name, item[2]) not in recorded]
        skipped = list(scan.skipped)
        # Files are read before the transaction: a read error aborts a DuckDB
        # transaction, and a bad file must not stop the good ones.
        prepared = []
        for index, staged in enumerate(scan.pending):
            try:
                read = self._read(staged, index)
            except OSError as error:
                skipped.append(SkippedEntry(staged.name, unreadable(error)))
                continue
            if read is not None:
                prepared.append(read)
        new_skips = [entry for entry in skipped if entry.name not in skipped_before]
        # A skip that no longer holds (the entry was removed, fixed or loaded).
        resolved = skipped_before - {entry.name for entry in skipped}
        if not prepared and not changed and not new_skips and not resolved:
            return report
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
                    self._record_skip(staged.name, size, digest, CHANGED_AFTER_LOAD, loaded_at)
                    report.skipped.append(f"{staged.name}: {CHANGED_AFTER_LOAD}")
                for entry in new_skips:
                    self._record_skip(entry.name, entry.size, NOT_READ, entry.reason, loaded_at)
                    report.skipped.append(str(entry))
                if resolved:
                    con.execute(
                        f"delete from {OPS_SCHEMA}.load_skips"
                        " where file_sha256 = $none and list_contains($names, file_name)",
                        {"none": NOT_READ, "names": sorted(resolved)},
                    )
                con.execute("commit")
            except BaseException:
                _rollback(con)
                raise
        finally:
            for read in prepared:
                con.execute(f"drop table if exists {read.lines_table}")
        report.files_skipped = len(report.skipped)
        return report

    def _record_skip(
        self, name: str, size: int, digest: str, reason: str, seen_at: datetime
    ) -> None:
        self.con.execute(
            f"insert or ignore into {OPS_SCHEMA}.load_skips values (?, ?, ?, ?, ?)",
            [name, size, digest, reason, seen_at],
        )

    def _read(self, staged: StagedFile, index: int) -> ReadFile | None:
        """Every line of the file, classified, in a temp table; None if it
        vanished, OSError if it cannot be read."""
        compressed = lines.is_compressed(staged.path.name)
        try:
            handle = self.stage.open(staged)
        except FileNotFoundError:
            return None
        lines_table = f"staged_lines_{index}"
        with handle:
            stat = os.fstat(handle.fileno())
            facts = lines.inspect(handle, compressed)
            in_bulk = facts.lf_only and self._read_in_bulk(
                handle, staged, lines_table, facts.line_count
            )
            if not in_bulk:
                handle.seek(0)
                salvaged = salvaged_lines(handle, compressed)  # noqa: F841 (read by DuckDB by name)
                self.con.execute(
                    f"create or replace temp table {lines_table} as "
                    + CLASSIFY_LINES.format(source="salvaged")
                )
        return ReadFile(staged, stat.st_size, stat.st_mtime_ns, facts.sha256, lines_table)

    def _read_in_bulk(
        self, handle: BinaryIO, staged: StagedFile, lines_table: str, line_count: int
    ) -> bool:
        """Read and classified in one statement (no intermediate copy), from the
        very file opened (its descriptor, where the system names one), so nothing
        swapped in after the checks is read. False if DuckDB refused it."""
        fd_path = f"/proc/self/fd/{handle.fileno()}"
        try:
            self.con.execute(
                f"create or replace temp table {lines_table} as "
                + CLASSIFY_LINES.format(source=f"({READ_LINES})"),
                {
                    "path": fd_path
                    if os.path.exists(fd_path)
                    else glob_free(staged.target or staged.path),
                    "compression": "gzip" if lines.is_compressed(staged.path.name) else "none",
                },
            )
        except duckdb.Error:
            return False
        (read,) = self.con.execute(f"select count(*) from {lines_table}").fetchone()
        return read == line_count

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


def _checksum(handle: BinaryIO) -> tuple[int, str]:
    """Size and SHA-256 of a file as stored."""
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(1 << 20):
        digest.update(chunk)
        size += len(chunk)
    return size, digest.hexdigest()


def _rollback(con: duckdb.DuckDBPyConnection) -> None:
    """Roll back, keeping the error that caused it: a failed commit (disk full)
    has already ended the transaction, and "no transaction is active" would
    hide the real cause."""
    with contextlib.suppress(duckdb.Error):
        con.execute("rollback")
