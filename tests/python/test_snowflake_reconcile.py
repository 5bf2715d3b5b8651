"""`reconcile.py --target snowflake` adds up what Snowflake holds: every staged
line landed (an event, or a line that is no event in qrn_shop__unloadable_lines),
every event consumed by its base model (its stream holds none), staged events =
valid + quarantined; and it says which file lost a line and which stream still
holds rows.

fakesnow (a test double of Snowflake) has no pipes and no streams. Here the
lines are inserted as the pipes' COPY lands them (sql/pipe.sql: each line of a
file as text, named as PUT names the file), and each stream a base model reads
is stood in for by a table of the rows it still holds. What only a real account
shows (Snowpipe's own loading, a stream's offset) is in docs/snowflake.md."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import snowflake.connector
from conftest import BIN_DIR, PROJECT_DIR, dbt, simulate

from snowcart.engines.snowflake.connection import SnowflakeConfig
from snowcart.reconcile import EVENT_MODELS
from snowcart.sources.generator import Faults, ShopGenerator
from snowcart.sources.producer import Producer
from snowcart.stages.local import LocalStage

START = datetime(2026, 3, 2, 9, 0, 0)
COLUMNS = ["emitted", "staged lines", "loaded", "rejected", "skipped files", "consumed",
           "deduplicated", "valid", "quarantined", "duplicates"]  # fmt: skip


def reconcile(home: Path, target: str, port: int | None = None) -> subprocess.CompletedProcess:
    env = {**os.environ, "SNOWCART_HOME": str(home)}
    if port is not None:
        env.update(SNOWCART_TARGET="fakesnow", FAKESNOW_PORT=str(port))
    args = [] if target == "fakesnow" else ["--target", target]
    return subprocess.run(
        [str(BIN_DIR / "python"), "scripts/reconcile.py", *args, "--home", str(home)],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip


def printed_counts(output: str) -> dict[str, list[str]]:
    """The table reconcile prints: table name → its counts as printed."""
    rows = {}
    for line in output.splitlines():
        cells = [cell.strip() for cell in re.split(r"[│┃|]", line) if cell.strip()]
        if len(cells) == len(COLUMNS) + 1 and cells[0] in EVENT_MODELS:
            rows[cells[0]] = cells[1:]
    return rows


def staged_lines(home: Path) -> dict[str, list[tuple[str, str, int]]]:
    """Every line of every stage file, split on `\\n` as the pipes' file format
    does, invalid UTF-8 replaced as it replaces it: (stage name, line, number)."""
    found: dict[str, list] = {}
    for path in sorted((home / "stage").rglob("*.ndjson")):
        table = path.parent.name
        text = path.read_bytes().decode("utf-8", errors="replace")
        lines = text.split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        name = f"{table}/{path.name}.gz"  # PUT's AUTO_COMPRESS adds .gz
        found.setdefault(table, []).extend(
            (name, line, number) for number, line in enumerate(lines, start=1)
        )
    return found


def is_event(line: str) -> bool:
    try:
        return isinstance(json.loads(line), dict)
    except ValueError:
        return False


def test_reconcile_on_snowflake_adds_up_every_line_and_names_what_is_missing(
    tmp_path, fakesnow_port
):
    home = tmp_path / "home"
    faults = Faults(duplicate_rate=0.05, malformed_rate=0.05, invalid_rate=0.05)
    producer = Producer(ShopGenerator(seed=11, faults=faults), LocalStage(home / "stage"),
                        home / "ledger.ndjson", home / "producer.json", now=lambda: START)  # fmt: skip
    producer.emit(1500, START.replace(hour=3), START)
    lines = staged_lines(home)
    ledger = [json.loads(text) for text in (home / "ledger.ndjson").read_text().splitlines()]

    env = {"FAKESNOW_PORT": str(fakesnow_port)}
    created = dbt("run-operation", "create_landing_tables", "--target", "fakesnow", home=home,
                  **env)  # fmt: skip
    assert created.returncode == 0, created.stdout[-2000:]
    config = SnowflakeConfig.for_fakesnow(fakesnow_port)
    with snowflake.connector.connect(**config.connect_args("raw")) as con:
        cursor = con.cursor()
        for table, rows in lines.items():
            cursor.executemany(
                f"insert into raw.{table} (_line, _file_name, _file_row_number, _loaded_at)"
                " values (%s, %s, %s, current_timestamp())",
                [(line, name, number) for name, line, number in rows],
            )
        for table, model in EVENT_MODELS.items():  # stand-ins for the streams: none pending
            cursor.execute(
                f"create table raw.{table}__{model} as select * from raw.{table} limit 0"
            )
    built = dbt("run", "--target", "fakesnow", "--select", "staging.shop", home=home, **env)
    assert built.returncode == 0, built.stdout[-3000:]

    result = reconcile(home, "fakesnow", fakesnow_port)
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "reconciled" in result.stdout
    counts = printed_counts(result.stdout)
    assert set(counts) == set(EVENT_MODELS)
    for table, rows in lines.items():
        events = sum(1 for _, line, _ in rows if is_event(line))
        emitted = sum(record["events"] for record in ledger if record["table"] == table)
        expected = [emitted, len(rows), events, len(rows) - events, 0, events]
        assert counts[table][:6] == [f"{value:,}" for value in expected], table
    assert sum(len(rows) - sum(map(is_event, (line for _, line, _ in rows)))
               for rows in lines.values()) > 0  # fmt: skip

    # The embedded engine, given the same stage, prints the same counts.
    embedded = tmp_path / "embedded"
    shutil.copytree(home / "stage", embedded / "stage")
    shutil.copy(home / "ledger.ndjson", embedded / "ledger.ndjson")
    drained = simulate("--events", "0", "--home", str(embedded))
    assert drained.returncode == 0, drained.stderr + drained.stdout
    on_duckdb = reconcile(embedded, "dev")
    assert on_duckdb.returncode == 0, on_duckdb.stdout[-3000:] + on_duckdb.stderr[-3000:]
    assert printed_counts(on_duckdb.stdout) == counts

    # A stream that still holds an event, and a file that lost a line.
    with snowflake.connector.connect(**config.connect_args("raw")) as con:
        cursor = con.cursor()
        cursor.execute(
            "insert into raw.orders__base_shop__orders select * from raw.orders"
            " where _file_row_number = 1"
        )
        cursor.execute("delete from raw.payments where _file_row_number = 2")
    broken = reconcile(home, "fakesnow", fakesnow_port)
    assert broken.returncode == 1, broken.stdout[-3000:]
    assert "MISMATCH orders: 1 loaded rows not consumed by staging yet" in broken.stderr
    payments = [row for row in lines["payments"] if row[2] <= 2]
    payments_file = payments[0][0].removesuffix(".gz")
    held = sum(1 for row in lines["payments"] if row[0] == payments[0][0])
    assert (
        f"MISMATCH payments: {payments_file} holds {held:,} lines but the pipe recorded "
        f"{held - 1:,}" in broken.stderr
    ), broken.stderr


def test_reconcile_on_snowflake_before_any_build_says_what_to_run(tmp_path, fakesnow_port):
    home = tmp_path / "home"
    created = dbt("run-operation", "create_landing_tables", "--target", "fakesnow", home=home,
                  FAKESNOW_PORT=str(fakesnow_port))  # fmt: skip
    assert created.returncode == 0, created.stdout[-2000:]
    result = reconcile(home, "fakesnow", fakesnow_port)
    assert result.returncode == 1
    assert "Snowflake refused a count" in result.stderr + result.stdout
    assert "python scripts/setup.py --target snowflake" in result.stderr + result.stdout
    assert "Traceback" not in result.stderr
