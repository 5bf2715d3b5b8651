"""The verdicts of `setup.py --verify` (verify.py), each from what Snowflake
returned, shaped as its documentation gives it, and how they are printed."""

from __future__ import annotations

import json
from dataclasses import dataclass

from snowcart.errors import BuildError


@dataclass(frozen=True)
class Check:
    name: str
    passed: bool
    detail: str


def pipe_status_check(statuses: dict[str, str]) -> Check:
    """SYSTEM$PIPE_STATUS of each S3 pipe (its JSON text): every one RUNNING."""
    problems = []
    for pipe, text in sorted(statuses.items()):
        try:
            state = json.loads(text).get("executionState")
        except (TypeError, ValueError):
            state = None
        if state != "RUNNING":
            problems.append(f"{pipe} is {state or 'unreadable: ' + str(text)[:80]}")
    detail = "; ".join(problems) or f"{len(statuses)} AUTO_INGEST pipes RUNNING"
    return Check("S3 pipes running", bool(statuses) and not problems, detail)


def dynamic_tables_check(shown: list[dict], stated: dict[str, str]) -> Check:
    """SHOW DYNAMIC TABLES rows (lower-case keys) against the refresh mode each
    dynamic-table model states: every one there, in its mode, not suspended."""
    found = {str(row["name"]).lower(): row for row in shown}
    problems = [f"{name} missing" for name in sorted(set(stated) - set(found))]
    for name, mode in sorted(stated.items()):
        row = found.get(name)
        if row is None:
            continue
        if str(row["refresh_mode"]).upper() != mode.upper():
            reason = row.get("refresh_mode_reason") or "no reason given"
            problems.append(f"{name} refreshes {row['refresh_mode']}, not {mode} ({reason})")
        if str(row["scheduling_state"]).upper() != "ACTIVE":
            problems.append(f"{name} is {row['scheduling_state']}")
    modes = sorted({mode.upper() for mode in stated.values()})
    detail = (
        "; ".join(problems)
        or f"{len(stated)} dynamic tables ACTIVE, modes as stated ({', '.join(modes)})"
    )
    return Check("dynamic tables: each in its stated mode, none suspended", not problems, detail)


def failures(error: BuildError, shown: int = 3) -> str:
    """A failed dbt run in one line: what failed, a few by name (the log has the rest)."""
    names = [node.split(".")[-1] for node in error.failed_nodes]
    if not names:
        return str(error)
    more = f" and {len(names) - shown} more" if len(names) > shown else ""
    return f"{len(names)} failed: {', '.join(names[:shown])}{more} (logs/dbt.log)"


def totals_check(row: tuple, ledger: dict[str, float]) -> Check:
    """fct_sales (orders, lines, booked revenue) against the producer's ledger."""
    orders, lines, booked = int(row[0]), int(row[1]), round(float(row[2]), 2)
    expected = (int(ledger["orders"]), int(ledger["order_lines"]), round(ledger["net_revenue"], 2))
    detail = f"{orders:,} orders, {lines:,} lines, {booked:,.2f} booked"
    if (orders, lines, booked) != expected:
        detail += f"; the batches hold {expected[0]:,}, {expected[1]:,}, {expected[2]:,.2f}"
    return Check("fct_sales = the batches' own totals", (orders, lines, booked) == expected, detail)


def print_checks(checks: list[Check]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title="account check")
    for column in ("check", "result", "detail"):
        table.add_column(column)
    for check in checks:
        table.add_row(check.name, "PASS" if check.passed else "FAIL", check.detail)
    Console(width=160).print(table)
