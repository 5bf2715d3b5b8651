"""Proves nothing was lost: per landing table, what the producer emitted (its
ledger), what is in the stage files, what the pipe loaded and rejected, and what
staging consumed, each counted from its own source.

Lines are counted as the pipe splits them (snowcart/stages/lines.py, the one
definition), file by file: a file the pipe loaded must hold the lines its load
history records. A file with no ledger record came from another producer (its
emitted events cannot be checked: said, not a mismatch); a loaded file removed
from the stage is checked against its load history; an entry the pipe skips is
listed with its reason."""

from __future__ import annotations

import json
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from snowcart.settings import Settings, landing_tables
from snowcart.stages import lines
from snowcart.stages.lines import count_lines
from snowcart.stages.local import LocalStage, SkippedEntry, StagedFile, unreadable

__all__ = ["LoadCounts", "OpenCounts", "count_lines", "ledger_events", "ledger_files", "reconcile"]

DRAIN = "(drain with: python scripts/simulate.py --events 0, with the same --target)"
KAFKA_DRAIN = "(drain with: python scripts/pipeline.py --drain --source kafka, with the same flags)"
# The base staging model that consumes each landing table, and the stream it
# reads. Base models hold every landing row but plain duplicates (the lines of
# an order or return count once per row), each valid (stg_*) or quarantined
# (qrn_*, a conflicting copy of an event included).
EVENT_MODELS = {
    "orders": "base_shop__orders",
    "order_status": "base_shop__order_status_changes",
    "returns": "base_shop__return_lines",
    "payments": "base_shop__payments",
    "inventory": "base_shop__inventory_movements",
    "customers": "base_shop__customers",
    "products": "base_shop__products",
    "web_events": "base_shop__web_events",
}


def staged_counts_sql(model: str) -> str:
    """SQL (both engines) giving the rows of one base staging model, of its
    valid (stg_) view and those only in its quarantine (qrn_) view, each counted
    by landing row (file, line): the first copy of an event and a conflicting
    later copy (quarantined) are both staged rows; a copy with the same payload
    is a duplicate, dropped. A row in both views or in neither is a mismatch."""
    view = model.removeprefix("base_")
    return f"""
        with staged_rows as (
            select distinct _file_name, _file_row_number from staging.{model}
        ),
        valid_rows as (
            select distinct _file_name, _file_row_number from staging.stg_{view}
        ),
        quarantined_rows as (
            select distinct _file_name, _file_row_number from quarantine.qrn_{view}
        )
        select
            (select count(*) from staged_rows),
            (select count(*) from valid_rows),
            (select count(*) from (
                select * from quarantined_rows except select * from valid_rows
            ))
    """


@dataclass
class FileLines:
    """One file of a landing table as each source sees it (None: not there)."""

    name: str
    stage: int | None = None  # lines in the stage file now
    stage_sha256: str | None = None
    pipe: int | None = None  # lines the load history records
    pipe_sha256: str | None = None
    emitted: int | None = None  # events the ledger records


@dataclass
class TableCounts:
    table: str
    # None: no ledger record for any file of the table (another producer's).
    emitted: int | None = 0
    staged_lines: int = 0
    staged_files: int = 0
    loaded_files: int = 0
    loaded: int = 0
    rejected: int = 0
    # Files of the table's folder the pipe does not load, each with a reason.
    skipped_files: int = 0
    consumed: int = 0
    deduplicated: int = 0
    valid: int = 0
    quarantined: int = 0
    duplicates: int = 0
    # False for a landing table no staging model reads yet.
    has_consumer: bool = True
    files: dict[str, FileLines] = field(default_factory=dict)
    recorded_rows: int = 0  # rows and errors the load history records
    recorded_errors: int = 0
    problems: list[str] = field(default_factory=list)
    # What is not a mismatch but worth saying (no ledger, files purged, changed).
    notes: list[str] = field(default_factory=list)

    # An S3 stage: objects under the table's folder of the prefix, and those
    # the local stage does not hold as they are now (None: a folder stage).
    objects: int | None = None
    objects_not_in: int = 0

    # A Kafka topic instead of stage files (None: files): the records the
    # warehouse read from it (the stored offsets' span), those it holds as a
    # row or a rejection (and of them, distinct offsets), and what is left.
    topic: str | None = None
    read: int = 0
    held: int = 0
    held_distinct: int = 0
    lag: int = 0

    def file(self, name: str) -> FileLines:
        return self.files.setdefault(name, FileLines(name))

    def check(self, has_ledger: bool, has_load_history: bool = True) -> None:
        files = list(self.files.values())
        if self.objects_not_in:
            self.problems.append(
                f"{self.objects_not_in:,} of {self.objects:,} objects in the S3 stage not brought "
                f"into the local stage yet {DRAIN}"
            )
        self._check_ledger(files, has_ledger)
        pending = [f.name for f in files if f.stage is not None and f.pipe is None]
        if pending:
            self.problems.append(f"{len(pending):,} staged files not loaded yet {DRAIN}")
        # No digest of a loaded file (Snowflake keeps none): its lines are compared.
        unequal = [
            f for f in files
            if f.stage is not None and f.pipe is not None
            and f.pipe_sha256 in (None, f.stage_sha256) and f.stage != f.pipe
        ]  # fmt: skip
        for item in unequal:
            self.problems.append(
                f"{item.name} holds {item.stage:,} lines but the pipe recorded {item.pipe:,}"
            )
        changed = [
            f for f in files
            if f.stage is not None and f.pipe is not None
            and f.pipe_sha256 not in (None, f.stage_sha256)
        ]  # fmt: skip
        for item in changed:
            self.skipped_files += 1
            self.notes.append(
                f"{item.name} changed after it was loaded ({item.stage:,} lines now, "
                f"{item.pipe:,} loaded): not reloaded, skipped (ops.load_skips)"
            )
        purged = [f for f in files if f.stage is None and f.pipe is not None]
        if purged:
            self.notes.append(
                f"{_some(item.name for item in purged)} loaded, no longer in the stage: "
                f"their {sum(item.pipe for item in purged):,} lines are checked against the "
                "load history"
            )
        if has_load_history and (self.recorded_rows, self.recorded_errors) != (
            self.loaded,
            self.rejected,
        ):
            self.problems.append(
                f"the load history records {self.recorded_rows:,} rows loaded and "
                f"{self.recorded_errors:,} rejected, the warehouse holds {self.loaded:,} and "
                f"{self.rejected:,}"
            )
        self._check_consumers()

    def check_topic(self, has_ledger: bool) -> None:
        """Every offset the warehouse moved past is one loaded row or one
        rejection, and every acknowledged event was read."""
        if self.lag:
            self.problems.append(
                f"{self.lag:,} records in {self.topic} not loaded yet {KAFKA_DRAIN}"
            )
        if (self.recorded_rows, self.recorded_errors) != (self.loaded, self.rejected):
            self.problems.append(
                f"ops.kafka_offsets records {self.recorded_rows:,} rows loaded and "
                f"{self.recorded_errors:,} rejected, the warehouse holds {self.loaded:,} and "
                f"{self.rejected:,}"
            )
        if self.held != self.held_distinct:
            self.problems.append(
                f"{self.held - self.held_distinct:,} records held twice (same partition and offset)"
            )
        if self.held_distinct != self.read:
            # A transactional producer's commit markers take offsets too: a
            # topic written by one has gaps that are no loss.
            self.problems.append(
                f"the stored offsets pass {self.read:,} records, {self.held_distinct:,} are loaded"
                " or rejected (offsets missing: lost, or a transactional producer's markers)"
            )
        if has_ledger and self.read < (self.emitted or 0):
            self.problems.append(
                f"the producer's ledger acknowledges {self.emitted:,} events, the warehouse read "
                f"{self.read:,} from {self.topic} (difference {self.read - self.emitted:+,})"
            )
        elif has_ledger and self.read > (self.emitted or 0):
            self.notes.append(
                f"{self.read - self.emitted:,} records more than the ledger acknowledges (a batch "
                "sent again after a producer crash, before its ledger line): staging keeps each "
                "event once"
            )
        if not has_ledger:
            self.emitted = None
        self._check_consumers()

    def _check_ledger(self, files: list[FileLines], has_ledger: bool) -> None:
        known = [f for f in files if f.emitted is not None]
        unknown = [
            f for f in files if f.emitted is None and (f.stage is not None or f.pipe is not None)
        ]
        if unknown and not known:
            self.emitted = None
        if unknown and has_ledger:
            self.notes.append(
                f"no ledger for {_some(item.name for item in unknown)} (another producer's): "
                "their emitted events are not checked"
            )
        missing = [f.name for f in known if f.stage is None and f.pipe is None]
        if missing:
            self.problems.append(
                f"{_some(missing)} in the producer's ledger but neither staged nor loaded"
            )
        emitted = sum(f.emitted for f in known)
        if known:
            self.emitted = emitted
        held = sum(f.stage if f.stage is not None else (f.pipe or 0) for f in known)
        if emitted != held:
            self.problems.append(
                f"producer emitted {emitted:,} lines but the stage holds {held:,} "
                f"(difference {held - emitted:+,})"
            )

    def _check_consumers(self) -> None:
        if not self.has_consumer:
            return
        if self.consumed != self.loaded:
            self.problems.append(
                f"{self.loaded - self.consumed:,} loaded rows not consumed by staging yet {DRAIN}"
            )
        if self.deduplicated + self.duplicates != self.consumed:
            self.problems.append(
                f"consumed {self.consumed:,} != staged events {self.deduplicated:,} + duplicates "
                f"{self.duplicates:,} (difference "
                f"{self.consumed - self.deduplicated - self.duplicates:+,})"
            )
        if self.valid + self.quarantined != self.deduplicated:
            self.problems.append(
                f"staged events {self.deduplicated:,} != valid {self.valid:,} + quarantined "
                f"{self.quarantined:,}"
            )


def _some(names, shown: int = 3) -> str:
    """A few names of a list, and how many more."""
    names = sorted(names)
    listed = ", ".join(names[:shown])
    more = f" and {len(names) - shown:,} more" if len(names) > shown else ""
    return f"{len(names):,} file{'s' if len(names) != 1 else ''} ({listed}{more})"


@dataclass
class Reconciliation:
    tables: list[TableCounts]
    # Every entry of the stage the pipe does not load, with its reason.
    skipped: list[SkippedEntry]
    # None when the home has a producer's ledger.
    no_ledger: str | None = None

    @property
    def problems(self) -> list[str]:
        return [
            f"{counts.table}: {problem}" for counts in self.tables for problem in counts.problems
        ]


def ledger_files(ledger_path: Path) -> dict[str, tuple[str, int]]:
    """Events per stage file (name → table, events); a batch recorded twice (a
    retry after a crash) counts once."""
    files: dict[str, tuple[str, int]] = {}
    if ledger_path.exists():
        for text in ledger_path.read_text(encoding="utf-8").splitlines():
            record = json.loads(text)
            table, batch = record["table"], record["batch"]
            name = record.get("file") or f"{table}/{LocalStage.batch_file_name(batch)}"
            files[name] = (table, record["events"])
    return files


def ledger_events(ledger_path: Path) -> dict[str, int]:
    """Events per table; a batch recorded twice (a retry after a crash) counts once."""
    totals: dict[str, int] = {}
    for table, events in ledger_files(ledger_path).values():
        totals[table] = totals.get(table, 0) + events
    return totals


class LoadCounts(Protocol):
    """What one engine's warehouse holds of a landing table, counted there
    (snowcart/engines/duckdb/reconcile.py, snowcart/engines/snowflake/reconcile.py)."""

    # False where the lines landed per file are all the engine records of a
    # load (Snowflake's pipes land every line): nothing else to compare them with.
    has_load_history: bool

    def stage_objects(self) -> dict[str, bool] | None:
        """An S3 stage the engine brings into the local stage: each object by its
        name relative to the prefix, True when held as it is now. None: no such stage."""

    def count_loads(self, counts: TableCounts) -> None:
        """Per file, the lines the pipe loaded (`counts.file(name).pipe`, named as
        in the stage); rows loaded and lines rejected; what the load history records."""

    def stored_offsets(self) -> dict[tuple[str, int], int]:
        """A Kafka source: (topic, partition) → the first offset not loaded yet."""

    def count_topic(self, counts: TableCounts) -> None:
        """A Kafka source: rows loaded and records rejected from `counts.topic`,
        what its stored offsets record, and the records read and held."""

    def count_consumed(self, counts: TableCounts) -> None:
        """What the table's base staging model consumed, deduplicated, kept
        valid or quarantined, and dropped as duplicates."""


class OpenCounts:
    """A `LoadCounts` over one connection (`connect()`), open for one reconciliation."""

    con = None

    def connect(self):
        raise NotImplementedError

    def __enter__(self):
        self.con = self.connect()
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self.con is not None:
            self.con.close()
            self.con = None


def reconcile(settings: Settings, warehouse: AbstractContextManager[LoadCounts]) -> Reconciliation:
    if settings.kafka is not None:
        return reconcile_topics(settings, warehouse)
    tables = landing_tables(settings.project_dir)
    ledger = ledger_files(settings.ledger_path)
    stage = LocalStage(settings.stage_dir)
    listing = stage.listing(tables)
    skipped = list(listing.skipped)
    results = []
    with warehouse as counter:
        objects = counter.stage_objects()
        for table in tables:
            counts = TableCounts(table)
            if objects is not None:
                held = [fresh for name, fresh in objects.items() if name.startswith(f"{table}/")]
                counts.objects, counts.objects_not_in = len(held), held.count(False)
            for name, (ledger_table, events) in ledger.items():
                if ledger_table == table:
                    counts.file(name).emitted = events
            files = [item for item in listing.files if item.table == table]
            skipped += _count_stage(stage, files, counts)
            counter.count_loads(counts)
            counts.has_consumer = table in EVENT_MODELS
            if counts.has_consumer:
                counter.count_consumed(counts)
            counts.skipped_files += sum(
                1 for entry in skipped if entry.name.startswith(f"{table}/")
            )
            counts.check(has_ledger=bool(ledger), has_load_history=counter.has_load_history)
            results.append(counts)
    no_ledger = None
    if not ledger:
        no_ledger = (
            f"no ledger at {settings.ledger_path} (a producer from elsewhere): emitted "
            "events are not checked; every other count is"
        )
    return Reconciliation(results, skipped, no_ledger)


def reconcile_topics(
    settings: Settings, warehouse: AbstractContextManager[LoadCounts]
) -> Reconciliation:
    """A Kafka source: per landing table, the ledger's acknowledged events,
    the records read from its topic, loaded or rejected, and what is left
    (the partitions' ends, as the broker reports them)."""
    from snowcart.stages.kafka import topic_ends

    tables = landing_tables(settings.project_dir)
    emitted = ledger_events(settings.ledger_path)
    ends = topic_ends(settings.kafka, tables)
    results = []
    with warehouse as counter:
        stored = counter.stored_offsets()
        for table in tables:
            counts = TableCounts(table, emitted=emitted.get(table, 0))
            counts.topic = settings.kafka.topic_for(table)
            counter.count_topic(counts)
            counts.lag = sum(
                max(end - stored.get((topic, partition), 0), 0)
                for (topic, partition), end in ends.items()
                if topic == counts.topic
            )
            counts.has_consumer = table in EVENT_MODELS
            if counts.has_consumer:
                counter.count_consumed(counts)
            counts.check_topic(has_ledger=bool(emitted))
            results.append(counts)
    no_ledger = None
    if not emitted:
        no_ledger = (
            f"no ledger at {settings.ledger_path} (a producer from elsewhere): acknowledged "
            "events are not checked; every other count is"
        )
    return Reconciliation(results, [], no_ledger)


def _count_stage(
    stage: LocalStage, files: list[StagedFile], counts: TableCounts
) -> list[SkippedEntry]:
    """Lines of every stage file, as the pipe counts them; the files that cannot
    be read are returned, skipped as the pipe skips them."""
    unreadable_files = []
    for staged in files:
        try:
            with stage.open(staged) as handle:
                facts = lines.inspect(handle, lines.is_compressed(staged.path.name))
        except FileNotFoundError:
            continue
        except OSError as error:
            unreadable_files.append(SkippedEntry(staged.name, unreadable(error)))
            continue
        file = counts.file(staged.name)
        file.stage, file.stage_sha256 = facts.line_count, facts.sha256
        counts.staged_files += 1
        counts.staged_lines += facts.line_count
    return unreadable_files
