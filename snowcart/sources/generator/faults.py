"""Fault injection: the knobs, and what they do to a batch's lines. Every draw
comes from the batch's own generator, in a fixed order, so faults reproduce."""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

import numpy as np

from snowcart.sources.generator.catalog import TABLES, US


@dataclass(frozen=True)
class Faults:
    """Fault knobs for tests and benchmarks; all default 0 = off."""

    duplicate_rate: float = 0.0  # events re-emitted (same event_id and payload) later
    late_rate: float = 0.0  # events whose event time is before the window
    late_max_s: float = 3 * 86400
    out_of_order_rate: float = 0.0  # status updates emitted before the status they follow
    malformed_rate: float = 0.0  # lines replaced by a truncated (broken) line
    schema_drift_rate: float = 0.0  # events with an extra unknown field "_drift"
    # Well-formed events staging must quarantine: unknown event type, impossible
    # timestamp, missing key, or (returns) negative quantities.
    invalid_rate: float = 0.0

    @property
    def any(self) -> bool:
        return any(
            (
                self.duplicate_rate,
                self.late_rate,
                self.out_of_order_rate,
                self.malformed_rate,
                self.schema_drift_rate,
                self.invalid_rate,
            )
        )


# The key each table's staging model cannot do without.
KEY_FIELD = {
    "orders": "order_id",
    "order_status": "order_id",
    "returns": "return_id",
    "payments": "payment_id",
    "inventory": "movement_id",
    "customers": "customer_id",
    "products": "product_id",
    "web_events": "session_id",
}
_RE_EVENT_TYPE = re.compile(r'"event_type":"[^"]*"')
_RE_EVENT_AT = re.compile(r'"event_at":"([^"]*)"')
_RE_QUANTITY = re.compile(r'"quantity":(\d)')


def invalidated(table: str, line: str, kind: int) -> str:
    """A well-formed event with one defect staging must quarantine. Each defect
    makes the whole event (every line of an order or return) invalid."""
    if kind == 3 and table == "returns":
        return _RE_QUANTITY.sub(r'"quantity":-\1', line)
    if kind == 0:
        return _RE_EVENT_TYPE.sub('"event_type":"unknown_event"', line, count=1)
    if kind == 1:
        # The event's own time, wherever it appears (event_at and e.g. ordered_at).
        stamp = _RE_EVENT_AT.search(line).group(1)
        return line.replace(f'"{stamp}"', '"1970-01-01T00:00:00"')
    key = KEY_FIELD[table]
    return re.sub(f'"{key}":"[^"]*"', f'"{key}":null', line, count=1)


def late_times(
    faults: Faults, rng: np.random.Generator, out_t: np.ndarray, window_start: int
) -> np.ndarray:
    """Output times with some events moved to before the window they arrive in."""
    n = len(out_t)
    if faults.late_rate <= 0 or not n:
        return out_t
    late = rng.random(n) < faults.late_rate
    lateness = np.exp(rng.uniform(math.log(60), math.log(max(faults.late_max_s, 61)), n)) * US
    # Late: it happened `lateness` before the window it arrives in.
    return np.where(late, window_start - lateness.astype(np.int64), out_t)


def damage(
    faults: Faults, rng: np.random.Generator, table: str, lines: list[str]
) -> tuple[np.ndarray, np.ndarray]:
    """Invalid events, schema drift and malformed lines, in place: (malformed,
    invalid) per line; a line both invalid and malformed counts as malformed."""
    n = len(lines)
    malformed = np.zeros(n, dtype=bool)
    invalid = np.zeros(n, dtype=bool)
    if faults.invalid_rate > 0 and n:
        invalid = rng.random(n) < faults.invalid_rate
        for i in np.flatnonzero(invalid).tolist():
            lines[i] = invalidated(table, lines[i], int(rng.integers(0, 4)))
    if faults.schema_drift_rate > 0 and n:
        for i in np.flatnonzero(rng.random(n) < faults.schema_drift_rate).tolist():
            lines[i] = f'{lines[i][:-1]},"_drift":{{"source":"app-v2","flag":{i % 7}}}}}'
    if faults.malformed_rate > 0 and n:
        malformed = rng.random(n) < faults.malformed_rate
        for i in np.flatnonzero(malformed).tolist():
            lines[i] = lines[i][: len(lines[i]) // 2]
    return malformed, invalid & ~malformed


def duplicate(
    faults: Faults,
    rng: np.random.Generator,
    lines_by_table: dict[str, list[str]],
    good: dict[str, np.ndarray],
    carried: list[tuple[str, list[str]]],
    copies_here: int,
    carry: dict[str, list[str]],
) -> dict[str, int]:
    """Copies of well-formed lines later in this batch (`copies_here` of them);
    some into `carry`, for the next batch; and the last batch's leftovers at
    random places. Returns the duplicates per table."""
    copies: dict[str, list[tuple[int, str]]] = {table: [] for table in TABLES}
    for table, lines in carried:
        m = len(lines_by_table[table])
        for line, position in zip(lines, rng.integers(0, m + 1, len(lines)).tolist(), strict=True):
            copies[table].append((2 * position - 1, line))
    if faults.duplicate_rate > 0:
        tables = [t for t in TABLES for _ in range(int(good[t].sum()))]
        rows = np.concatenate([np.flatnonzero(good[t]) for t in TABLES])
        if len(rows):
            for chosen in rng.integers(0, len(rows), copies_here).tolist():
                table, row = tables[chosen], int(rows[chosen])
                m = len(lines_by_table[table])
                position = row + 1 + int(rng.integers(0, m - row))
                copies[table].append((2 * position - 1, lines_by_table[table][row]))
            later = rng.binomial(len(rows), 0.3 * faults.duplicate_rate)
            for chosen in rng.integers(0, len(rows), later).tolist():
                table, row = tables[chosen], int(rows[chosen])
                carry.setdefault(table, []).append(lines_by_table[table][row])
    counts = {}
    for table, extra in copies.items():
        if not extra:
            continue
        lines = lines_by_table[table]
        keys = np.concatenate((2 * np.arange(len(lines)), [key for key, _ in extra]))
        merged = lines + [line for _, line in extra]
        lines_by_table[table] = [merged[i] for i in np.argsort(keys, kind="stable").tolist()]
        counts[table] = len(extra)
    return counts
