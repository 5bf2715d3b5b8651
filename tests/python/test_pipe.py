"""The embedded pipe: exactly-once file loads, ON_ERROR = CONTINUE, one transaction."""

import hashlib
import shutil

import duckdb
import pytest

from snowcart.backends.duckdb import DuckDBWarehouse
from snowcart.settings import Settings
from snowcart.stage import LocalStage

GOOD = '{"event_id":"E1","order_id":"O1","lines":[]}'


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory):
    """A warehouse after setup (landing tables + load metadata), built once."""
    home = tmp_path_factory.mktemp("template")
    warehouse = DuckDBWarehouse(Settings.resolve("dev", home))
    warehouse.setup()
    warehouse.con.execute("checkpoint")  # the copy below must not need the WAL
    warehouse.close()
    return home / "warehouse.duckdb"


@pytest.fixture
def warehouse(empty_warehouse, tmp_path):
    shutil.copyfile(empty_warehouse, tmp_path / "warehouse.duckdb")
    opened = DuckDBWarehouse(Settings.resolve("dev", tmp_path))
    yield opened
    opened.close()


def count(con: duckdb.DuckDBPyConnection, sql: str) -> int:
    return con.execute(sql).fetchone()[0]


def test_loading_twice_loads_each_file_once(warehouse):
    stage = LocalStage(warehouse.settings.stage_dir)
    stage.write("orders", 0, [GOOD] * 3)
    stage.write("orders", 1, [GOOD] * 2)
    first = warehouse.ingest()
    second = warehouse.ingest()
    assert (first.files, first.rows_loaded) == (2, 5)
    assert (second.files, second.rows_loaded) == (0, 0)
    assert count(warehouse.con, "select count(*) from raw.orders") == 5
    stage.write("orders", 2, [GOOD])
    assert warehouse.ingest().rows_loaded == 1
    assert count(warehouse.con, "select count(*) from raw.orders") == 6


def test_bad_lines_are_rejected_with_line_and_reason(warehouse):
    lines = [GOOD, '{"event_id": "E2", broken', "[1, 2]", GOOD, "42"]
    LocalStage(warehouse.settings.stage_dir).write("orders", 0, lines)
    report = warehouse.ingest()
    assert (report.rows_loaded, report.rows_rejected) == (2, 3)
    errors = warehouse.con.execute(
        "select file_name, line_number, raw_line, reason from ops.load_errors order by line_number"
    ).fetchall()
    assert errors == [
        ("orders/batch-0000000000.ndjson", 2, lines[1], "malformed JSON"),
        ("orders/batch-0000000000.ndjson", 3, lines[2], "not a JSON object"),
        ("orders/batch-0000000000.ndjson", 5, lines[4], "not a JSON object"),
    ]
    loaded = warehouse.con.execute("select _file_row_number from raw.orders order by 1").fetchall()
    assert loaded == [(1,), (4,)]


def test_load_history_records_size_and_checksum(warehouse):
    staged = LocalStage(warehouse.settings.stage_dir).write("orders", 5, [GOOD] * 4)
    warehouse.ingest()
    row = warehouse.con.execute(
        "select file_name, table_name, file_size, file_sha256, row_count, error_count from ops.load_history"
    ).fetchone()
    content = staged.path.read_bytes()
    assert row == (staged.name, "orders", len(content), hashlib.sha256(content).hexdigest(), 4, 0)


def test_a_failed_load_leaves_no_trace(warehouse, monkeypatch):
    from snowcart import pipe

    stage = LocalStage(warehouse.settings.stage_dir)
    stage.write("orders", 0, [GOOD])
    stage.write("orders", 1, [GOOD])
    real_load_file = pipe.EmbeddedPipe._load_file
    calls = []

    def fail_on_second_file(self, staged, loaded_at):
        calls.append(staged.name)
        if len(calls) == 2:
            raise OSError("disk gone")
        return real_load_file(self, staged, loaded_at)

    monkeypatch.setattr(pipe.EmbeddedPipe, "_load_file", fail_on_second_file)
    with pytest.raises(OSError):
        warehouse.ingest()
    assert count(warehouse.con, "select count(*) from raw.orders") == 0
    assert count(warehouse.con, "select count(*) from ops.load_history") == 0
    monkeypatch.undo()
    assert warehouse.ingest().rows_loaded == 2


def test_loaded_at_only_grows(warehouse):
    stage = LocalStage(warehouse.settings.stage_dir)
    for number in range(3):
        stage.write("orders", number, [GOOD])
        warehouse.ingest()
    stamps = [
        row[0]
        for row in warehouse.con.execute(
            "select _loaded_at from raw.orders order by _file_name"
        ).fetchall()
    ]
    assert stamps == sorted(stamps) and len(set(stamps)) == 3
