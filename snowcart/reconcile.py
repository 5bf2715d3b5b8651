"""Proves nothing was lost: per landing table, what the producer emitted (its
ledger), what is in the stage files, what the pipe loaded and rejected, and what
staging consumed, each counted from its own source."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from snowcart.settings import Settings, landing_tables
from snowcart.stages.local import LocalStage

# The base staging model that consumes each landing table, and the stream it
# reads. Base models hold every distinct event (lines of an order or return
# count once per event), each either valid (stg_*) or quarantined (qrn_*).
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


@dataclass
class TableCounts:
    table: str
    emitted: int = 0
    staged_lines: int = 0
    staged_files: int = 0
    loaded_files: int = 0
    loaded: int = 0
    rejected: int = 0
    consumed: int = 0
    deduplicated: int = 0
    valid: int = 0
    quarantined: int = 0
    duplicates: int = 0
    # False for a landing table no staging model reads yet.
    has_consumer: bool = True
    problems: list[str] = field(default_factory=list)

    def check(self) -> None:
        if self.emitted != self.staged_lines:
            self.problems.append(
                f"producer emitted {self.emitted:,} lines but the stage holds {self.staged_lines:,} "
                f"(difference {self.staged_lines - self.emitted:+,})"
            )
        if self.loaded_files != self.staged_files:
            self.problems.append(
                f"{self.staged_files - self.loaded_files:,} staged files not loaded yet "
                "(drain with: python scripts/simulate.py --events 0)"
            )
        if self.loaded + self.rejected != self.staged_lines:
            self.problems.append(
                f"stage lines {self.staged_lines:,} != loaded {self.loaded:,} + rejected "
                f"{self.rejected:,} (difference {self.staged_lines - self.loaded - self.rejected:+,})"
            )
        if not self.has_consumer:
            return
        if self.consumed != self.loaded:
            self.problems.append(
                f"{self.loaded - self.consumed:,} loaded rows not consumed by staging yet "
                "(drain with: python scripts/simulate.py --events 0)"
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


def count_lines(path: Path) -> int:
    """Lines in a stage file as the pipe sees them: newline-terminated lines plus
    an unterminated last one; a damaged gzip counts what inflates, plus the
    incomplete line where it breaks."""
    data = path.read_bytes()
    damaged = False
    if path.name.endswith(".gz"):
        inflater = zlib.decompressobj(wbits=31)
        inflated = bytearray()
        for offset in range(0, len(data), 65536):
            try:
                inflated += inflater.decompress(data[offset : offset + 65536])
            except zlib.error:
                damaged = True
                break
        damaged = damaged or not inflater.eof
        data = bytes(inflated) if not damaged else _inflate_until_error(data)
    newlines = data.count(b"\n")
    return newlines + (1 if (data and not data.endswith(b"\n")) or damaged else 0)


def _inflate_until_error(data: bytes) -> bytes:
    inflater, inflated = zlib.decompressobj(wbits=31), bytearray()
    for offset in range(len(data)):
        try:
            inflated += inflater.decompress(data[offset : offset + 1])
        except zlib.error:
            break
    return bytes(inflated)


def ledger_events(ledger_path: Path) -> dict[str, int]:
    """Events per table; a batch recorded twice (a retry after a crash) counts once."""
    batches: dict[tuple[str, int], int] = {}
    if ledger_path.exists():
        for text in ledger_path.read_text(encoding="utf-8").splitlines():
            record = json.loads(text)
            batches[(record["table"], record["batch"])] = record["events"]
    totals: dict[str, int] = {}
    for (table, _), events in batches.items():
        totals[table] = totals.get(table, 0) + events
    return totals


def reconcile(settings: Settings) -> list[TableCounts]:
    tables = landing_tables(settings.project_dir)
    emitted = ledger_events(settings.ledger_path)
    staged = LocalStage(settings.stage_dir).files(tables)
    results = []
    with duckdb.connect(str(settings.warehouse_path), read_only=True) as con:
        for table in tables:
            counts = TableCounts(table, emitted=emitted.get(table, 0))
            files = [item for item in staged if item.table == table]
            counts.staged_files = len(files)
            counts.staged_lines = sum(count_lines(item.path) for item in files)
            counts.loaded_files, counts.loaded, counts.rejected = con.execute(
                f"""
                select
                    (select count(*) from ops.load_history where table_name = $table),
                    (select count(*) from raw.{table}),
                    (select count(*) from ops.load_errors as errors
                     join ops.load_history as history using (file_name)
                     where history.table_name = $table)
                """,
                {"table": table},
            ).fetchone()
            counts.has_consumer = table in EVENT_MODELS
            if counts.has_consumer:
                model = EVENT_MODELS[table]
                # Consumed: landing rows at or before the model's stream offset.
                # Valid and quarantined are counted from the stg_/qrn_ views, so
                # a row in both or in neither shows up as a mismatch.
                view = model.removeprefix("base_")
                (
                    counts.consumed,
                    counts.deduplicated,
                    counts.valid,
                    counts.quarantined,
                    counts.duplicates,
                ) = con.execute(
                    f"""
                    with offset_ as (
                        select offset_loaded_at from ops.stream_offsets
                        where stream_name = $stream
                    ),
                    consumed as (
                        select * from raw.{table}
                        where _loaded_at <= (select offset_loaded_at from offset_)
                    )
                    select
                        (select count(*) from consumed),
                        (select count(distinct event_id) from staging.{model}),
                        (select count(distinct event_id) from staging.stg_{view}),
                        (select count(distinct event_id) from quarantine.qrn_{view}),
                        (select count(*) - count(distinct payload ->> 'event_id') from consumed)
                    """,
                    {"stream": f"{table}__{model}"},
                ).fetchone()
            counts.check()
            results.append(counts)
    return results
