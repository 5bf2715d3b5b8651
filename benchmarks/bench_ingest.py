"""2. Ingest stage → raw, three ways over the same stage files:

(a) the project's pipe (EmbeddedPipe through DuckDBWarehouse.ingest),
(b) DuckDB's own bulk load of those files into plain tables (the limit),
(c) a row-at-a-time consumer, as in tutorial Kafka → warehouse consumers.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from benchmarks.bench_generator import batch_tables, describe_mix, new_generator
from benchmarks.common import Figure, Section, log, ratios, timed
from benchmarks.profiling import TimedConnection, profile_call
from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
from snowcart.settings import Settings, landing_tables
from snowcart.stages.local import LocalStage

TARGET_EVENTS_PER_S = 300_000
TARGET_SHARE_OF_LIMIT = 50.0  # percent
SAMPLE_TABLE = "orders"  # the row-at-a-time consumer takes this table's events first

# DuckDB's limit: one table per landing table, like the pipe. Like for like: each
# line as one JSON value (a landing table keeps the event as a JSON payload); for
# reference, typed columns inferred by read_json.
LIMIT_READERS = {
    "read_ndjson_objects": "select * from read_ndjson_objects($files)",
    "read_json (typed)": "select * from read_json($files, format = 'newline_delimited')",
}
LIKE_FOR_LIKE = "read_ndjson_objects"

# (c): parse each event in Python, insert it, upsert its customer; commit per event.
ROW_TABLES = [
    """create table events (
        event_id varchar primary key, customer_id varchar, event_at varchar, payload json)""",
    """create table customers (
        customer_id varchar primary key, first_event_at varchar,
        last_event_at varchar, event_count bigint)""",
]
ROW_INSERT = "insert into events values (?, ?, ?, ?)"
ROW_UPSERT = """
    insert into customers values (?, ?, ?, 1)
    on conflict (customer_id) do update set
        last_event_at = greatest(customers.last_event_at, excluded.last_event_at),
        event_count = customers.event_count + 1
"""


@dataclass(frozen=True)
class IngestConfig:
    batches: int
    events_per_batch: int
    runs: int
    row_events: int


@dataclass(frozen=True)
class StagedInput:
    """The shared input: stage files by landing table, as the producer writes them."""

    files_by_table: dict[str, list[Path]]
    lines_by_table: dict[str, int]
    # Lines of tables the pipe does not load (not staged, not counted).
    skipped: int

    @property
    def files(self) -> list[Path]:
        return [path for paths in self.files_by_table.values() for path in paths]

    @property
    def events(self) -> int:
        return sum(self.lines_by_table.values())

    @property
    def size_mb(self) -> float:
        return sum(path.stat().st_size for path in self.files) / 1e6


def write_stage_files(folder: Path, config: IngestConfig) -> StagedInput:
    """Generated batches written with LocalStage, for the tables the pipe loads.

    If the generator also emits tables the pipe does not load, batches are made
    larger so that the staged (loadable) events still come to about
    batches × events_per_batch."""
    tables = landing_tables()
    probe = batch_tables(new_generator(seed=7), 0, config.events_per_batch)
    loadable = sum(len(lines) for table, lines in probe.items() if table in tables)
    scale = config.events_per_batch / max(loadable, 1)
    per_batch = max(config.events_per_batch, round(config.events_per_batch * scale))
    stage = LocalStage(folder)
    generator = new_generator(seed=7)
    counts: dict[str, int] = {}
    skipped = 0
    for number in range(config.batches):
        for table, lines in batch_tables(generator, number, per_batch).items():
            if table in tables and lines:
                stage.write(table, number, lines)
                counts[table] = counts.get(table, 0) + len(lines)
            else:
                skipped += len(lines)
    files_by_table: dict[str, list[Path]] = {}
    for staged in stage.files(tables):
        files_by_table.setdefault(staged.table, []).append(staged.path)
    return StagedInput(files_by_table, counts, skipped)


def fresh_warehouse(home: Path, staged: StagedInput) -> DuckDBWarehouse:
    """A new home whose stage holds the shared files, with a set-up warehouse (dbt runs
    here: not timed)."""
    settings = Settings.resolve("dev", home)
    for table, paths in staged.files_by_table.items():
        folder = settings.stage_dir / table
        folder.mkdir(parents=True, exist_ok=True)
        for path in paths:
            try:
                os.link(path, folder / path.name)  # same bytes, no copy
            except OSError:
                shutil.copy2(path, folder / path.name)
    warehouse = DuckDBWarehouse(settings)
    warehouse.setup()
    return warehouse


def pipe_run(home: Path, staged: StagedInput) -> float:
    """(a) events/s of warehouse.ingest() on a fresh warehouse."""
    warehouse = fresh_warehouse(home, staged)
    try:
        seconds, report = timed(warehouse.ingest)
    finally:
        warehouse.close()
    expected = (len(staged.files), staged.events, 0)
    if (report.files, report.rows_loaded, report.rows_rejected) != expected:
        raise RuntimeError(f"pipe loaded {report}, expected (files, rows, rejected) {expected}")
    shutil.rmtree(home, ignore_errors=True)
    return staged.events / seconds


def limit_run(database: Path, staged: StagedInput, reader: str) -> float:
    """(b) events/s of DuckDB bulk-loading the same files into one table per landing
    table, in a fresh database file."""
    con = duckdb.connect(str(database))
    try:

        def load() -> None:
            for table, paths in staged.files_by_table.items():
                con.execute(
                    f'create table "{table}" as {LIMIT_READERS[reader]}',
                    {"files": [str(path) for path in paths]},
                )

        seconds, _ = timed(load)
        count = sum(
            con.execute(f'select count(*) from "{table}"').fetchone()[0]
            for table in staged.files_by_table
        )
    finally:
        con.close()
    if count != staged.events:
        raise RuntimeError(f"{reader} loaded {count} rows, expected {staged.events}")
    database.unlink(missing_ok=True)
    return staged.events / seconds


def sample_lines(staged: StagedInput, count: int) -> list[str]:
    """The first `count` events, from SAMPLE_TABLE's files first."""
    ordered = sorted(staged.files_by_table.items(), key=lambda item: item[0] != SAMPLE_TABLE)
    lines: list[str] = []
    for _, paths in ordered:
        for path in paths:
            lines += path.read_text(encoding="utf-8").splitlines()
            if len(lines) >= count:
                return lines[:count]
    return lines


def row_at_a_time_run(database: Path, lines: list[str]) -> float:
    """(c) events/s of a consumer that handles one event per transaction."""
    con = duckdb.connect(str(database))
    try:
        for ddl in ROW_TABLES:
            con.execute(ddl)

        def consume() -> None:
            for line in lines:
                event = json.loads(line)
                customer = event.get("customer_id")
                event_at = event.get("event_at")
                con.execute("begin transaction")
                con.execute(ROW_INSERT, [event["event_id"], customer, event_at, line])
                if customer is not None:
                    con.execute(ROW_UPSERT, [str(customer), event_at, event_at])
                con.execute("commit")

        seconds, _ = timed(consume)
        (count,) = con.execute("select count(*) from events").fetchone()
    finally:
        con.close()
    if count != len(lines):
        raise RuntimeError(f"row-at-a-time consumer stored {count} rows, expected {len(lines)}")
    database.unlink(missing_ok=True)
    return len(lines) / seconds


def profile_pipe(home: Path, staged: StagedInput) -> tuple[str, list[tuple[str, float]]]:
    """One more fresh load, with time per SQL statement and a sampling profile.
    Returns (report text, [(statement, share of the load)] largest first)."""
    warehouse = fresh_warehouse(home, staged)
    try:
        timed_con = TimedConnection(warehouse.con)
        warehouse._con = timed_con  # the pipe takes its connection from here
        total = [0.0]

        def ingest() -> None:
            total[0], _ = timed(warehouse.ingest)

        profiler, tree = profile_call(ingest)
        warehouse._con = timed_con._con
    finally:
        warehouse.close()
    shutil.rmtree(home, ignore_errors=True)
    shares = sorted(
        ((kind, seconds / total[0]) for kind, seconds in timed_con.seconds.items()),
        key=lambda item: -item[1],
    )
    text = (
        f"Time per SQL statement kind (one load of {len(staged.files)} files, "
        f"{total[0]:.2f} s in warehouse.ingest):\n{timed_con.table(total[0])}\n\n"
        f"{profiler} call tree of the same load:\n{tree}"
    )
    return text, shares


def run(config: IngestConfig, workdir: Path) -> Section:
    log(f"ingest: staging {config.batches} batches of {config.events_per_batch:,} events")
    staged = write_stage_files(workdir / "source-stage", config)
    rows_sample = sample_lines(staged, config.row_events)
    pipe: list[float] = []
    limits: dict[str, list[float]] = {reader: [] for reader in LIMIT_READERS}
    row_by_row: list[float] = []
    for index in range(config.runs):
        # Interleaved, so a disturbance hits every contender alike.
        pipe.append(pipe_run(workdir / f"home-{index}", staged))
        for reader in LIMIT_READERS:
            limits[reader].append(limit_run(workdir / f"limit-{index}.duckdb", staged, reader))
        row_by_row.append(row_at_a_time_run(workdir / f"rows-{index}.duckdb", rows_sample))
        log(
            f"ingest run {index + 1}/{config.runs}: pipe {pipe[-1]:,.0f}, "
            + ", ".join(f"{reader} {rates[-1]:,.0f}" for reader, rates in limits.items())
            + f", row-at-a-time {row_by_row[-1]:,.0f} events/s"
        )
    section = Section(
        title="2. Ingest stage → raw",
        method=method(config, staged, len(rows_sample)),
        figures=figures(pipe, limits, row_by_row),
    )
    misses = section.misses
    if misses:
        log("ingest: profiling one more pipe load (a target was missed)")
        text, shares = profile_pipe(workdir / "home-profile", staged)
        section.profiles.append(("SQL timing and call tree of one `warehouse.ingest()`", text))
        top = ", ".join(f"`{kind}` {share:.0%}" for kind, share in shares[:3])
        section.notes.append(
            "MISS: "
            + "; ".join(
                f"{figure.label} median {figure.show(figure.median)} vs target {figure.target}"
                for figure in misses
            )
            + f". Largest shares of the pipe's time by SQL statement: {top}."
        )
    return section


def figures(
    pipe: list[float], limits: dict[str, list[float]], row_by_row: list[float]
) -> list[Figure]:
    result = [
        Figure(
            "(a) pipe: `warehouse.ingest()`",
            "events/s",
            pipe,
            target=f"≥ {TARGET_EVENTS_PER_S:,} events/s",
            threshold=TARGET_EVENTS_PER_S,
        )
    ]
    result += [
        Figure(f"(b) DuckDB limit: `{reader}` → tables", "events/s", rates)
        for reader, rates in limits.items()
    ]
    for reader, rates in limits.items():
        like_for_like = reader == LIKE_FOR_LIKE
        result.append(
            Figure(
                f"pipe / `{reader}` limit (run by run)",
                "%",
                [100 * value for value in ratios(pipe, rates)],
                target=f"≥ {TARGET_SHARE_OF_LIMIT:.0f}%" if like_for_like else "",
                threshold=TARGET_SHARE_OF_LIMIT if like_for_like else None,
                digits=1,
            )
        )
    result.append(Figure("(c) row-at-a-time consumer", "events/s", row_by_row))
    result.append(
        Figure(
            "speed-up of the pipe over row-at-a-time (run by run)",
            "×",
            ratios(pipe, row_by_row),
            digits=1,
        )
    )
    return result


def method(config: IngestConfig, staged: StagedInput, sample: int) -> list[str]:
    skipped = (
        f"; {staged.skipped:,} more generated lines belong to tables that are not landing "
        "tables, so they were not staged"
        if staged.skipped
        else ""
    )
    count = len(staged.files_by_table)
    tables = f"{count} landing table{'s' if count != 1 else ''}"
    return [
        f"Input: {staged.events:,} generated events from {config.batches} batches in "
        f"{len(staged.files)} stage files of {tables} "
        f"({staged.size_mb:,.1f} MB of NDJSON; events by table: "
        f"{describe_mix(staged.lines_by_table)}"
        f"{skipped}), written once with `LocalStage`; every contender reads these same files.",
        "(a) Per run: a fresh home whose stage holds the files (hard links), a fresh warehouse "
        "from `DuckDBWarehouse(Settings.resolve('dev', home)).setup()` (dbt run-operation; "
        "not timed), then `warehouse.ingest()` timed: hashing, reading and classifying every "
        "line, inserting into the `raw` landing tables, load history, commit.",
        "(b) Per run: a fresh DuckDB file and, per landing table, `create table <table> as "
        "select * from read_ndjson_objects(<its files>)` (each line as one JSON value, the "
        "shape of a landing table's payload); then the same with typed `read_json(<files>, "
        f"format='newline_delimited')`. The target compares the pipe with `{LIKE_FOR_LIKE}`, "
        "the like-for-like (and faster) load.",
        f"(c) Per run: the first {sample:,} events ({SAMPLE_TABLE} first) into a fresh DuckDB "
        "file, one event at a time: `json.loads` in Python, then one transaction per event "
        "with an `INSERT` of the event and an `INSERT ... ON CONFLICT DO UPDATE` of its "
        "customer's row in `customers` (a consumer committing per message).",
        f"{config.runs} runs, interleaved (a, b, c, a, b, c, ...). Ratios and speed-ups are "
        "taken run by run (run i over run i).",
    ]
