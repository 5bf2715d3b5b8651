"""The embedded pipe: exactly-once file loads, ON_ERROR = CONTINUE, one transaction."""

import gzip
import hashlib
import json
import shutil

import duckdb
import pytest

from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
from snowcart.settings import Settings
from snowcart.stages.local import LocalStage

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
    numbered = warehouse.con.execute(
        "select _file_name, list(_file_row_number order by _file_row_number)"
        " from raw.orders group by 1 order by 1"
    ).fetchall()
    assert numbered == [
        ("orders/batch-0000000000.ndjson", [1, 2, 3]),
        ("orders/batch-0000000001.ndjson", [1, 2]),
    ]
    stage.write("orders", 2, [GOOD])
    assert warehouse.ingest().rows_loaded == 1
    assert count(warehouse.con, "select count(*) from raw.orders") == 6


def test_bad_lines_are_rejected_with_line_and_reason(warehouse):
    lines = [
        GOOD,
        '{"event_id": "E2", broken',
        "[1, 2]",
        GOOD,
        "42",
        "",
        '{"order_id": "O9"}',
        '{"event_id": 17}',
        '{"event_id": null}',
    ]
    LocalStage(warehouse.settings.stage_dir).write("orders", 0, lines)
    report = warehouse.ingest()
    assert (report.rows_loaded, report.rows_rejected) == (2, 7)
    errors = warehouse.con.execute(
        "select file_name, line_number, raw_line, reason from ops.load_errors order by line_number"
    ).fetchall()
    name = "orders/batch-0000000000.ndjson"
    assert errors == [
        (name, 2, lines[1], "malformed JSON"),
        (name, 3, lines[2], "not a JSON object"),
        (name, 5, lines[4], "not a JSON object"),
        (name, 6, None, "empty line"),
        (name, 7, lines[6], "missing required field event_id"),
        (name, 8, lines[7], "wrong type for event_id: UBIGINT"),
        (name, 9, lines[8], "missing required field event_id"),
    ]
    loaded = warehouse.con.execute("select _file_row_number from raw.orders order by 1").fetchall()
    assert loaded == [(1,), (4,)]


def test_load_history_records_size_and_checksum(warehouse):
    staged = LocalStage(warehouse.settings.stage_dir).write("orders", 5, [GOOD] * 4)
    warehouse.ingest()
    row = warehouse.con.execute(
        "select file_name, table_name, file_size, file_sha256, line_count, row_count, error_count"
        " from ops.load_history"
    ).fetchone()
    content = staged.path.read_bytes()
    assert row == (
        staged.name,
        "orders",
        len(content),
        hashlib.sha256(content).hexdigest(),
        4,
        4,
        0,
    )


def test_a_failed_load_leaves_no_trace(warehouse, monkeypatch):
    from snowcart.engines.duckdb import pipe

    stage = LocalStage(warehouse.settings.stage_dir)
    stage.write("orders", 0, [GOOD])
    stage.write("orders", 1, [GOOD])
    real_insert = pipe.EmbeddedPipe._insert
    calls = []

    def fail_on_second_file(self, read, loaded_at):
        calls.append(read.staged.name)
        if len(calls) == 2:
            raise OSError("disk gone")
        return real_insert(self, read, loaded_at)

    monkeypatch.setattr(pipe.EmbeddedPipe, "_insert", fail_on_second_file)
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


def event(number: int) -> str:
    return json.dumps({"event_id": f"E{number}", "order_id": f"O{number}", "lines": []})


def test_bad_file_corpus_is_fully_accounted_for(warehouse):
    """Every line of every file is loaded or rejected with a reason; a bad file
    never stops the good files around it."""
    folder = warehouse.settings.stage_dir / "orders"
    folder.mkdir(parents=True)
    good = [event(n) for n in range(10)]
    complete_gzip = gzip.compress(("\n".join(good) + "\n").encode())
    corpus = {
        "batch-01.ndjson": ("\n".join(good[:3]) + "\n").encode(),
        "batch-02.ndjson": b"",
        "batch-03.ndjson": (good[3] + "\n").encode()
        + b'{"event_id":"E\xff\xfe"}\n'
        + (good[4] + "\n").encode(),
        "batch-04.ndjson.gz": complete_gzip,
        "batch-05.ndjson.gz": complete_gzip[: len(complete_gzip) // 2],
        "batch-06.ndjson.gz": b"this is not gzip at all\n",
        "batch-07.ndjson": ("\n".join([good[5], good[5], good[6]]) + "\n").encode(),  # duplicates
        "batch-08.ndjson": (
            good[7] + "\n" + '{"event_id": "E8", "amount": '
        ).encode(),  # cut mid-line
    }
    for name, content in corpus.items():
        (folder / name).write_bytes(content)

    report = warehouse.ingest()
    assert report.files == len(corpus)

    per_file = dict(
        warehouse.con.execute(
            "select file_name, [line_count, row_count, error_count] from ops.load_history"
        ).fetchall()
    )
    errors = warehouse.con.execute(
        "select file_name, line_number, reason from ops.load_errors order by all"
    ).fetchall()
    assert per_file["orders/batch-01.ndjson"] == [3, 3, 0]
    assert per_file["orders/batch-02.ndjson"] == [0, 0, 0]
    assert per_file["orders/batch-03.ndjson"] == [3, 2, 1]
    assert per_file["orders/batch-04.ndjson.gz"] == [10, 10, 0]
    assert per_file["orders/batch-07.ndjson"] == [3, 3, 0]  # dedup is staging's job
    assert ("orders/batch-03.ndjson", 2, "invalid UTF-8 at byte 14") in errors
    truncated_lines, truncated_rows, truncated_errors = per_file["orders/batch-05.ndjson.gz"]
    assert truncated_errors == 1 and truncated_rows == truncated_lines - 1 and truncated_rows > 0
    assert [e for e in errors if e[0] == "orders/batch-05.ndjson.gz"][0][2].startswith(
        "truncated file"
    )
    assert per_file["orders/batch-06.ndjson.gz"] == [1, 0, 1]
    assert [e for e in errors if e[0] == "orders/batch-06.ndjson.gz"][0][2].startswith(
        "corrupt compressed data"
    )
    assert per_file["orders/batch-08.ndjson"] == [2, 1, 1]
    assert ("orders/batch-08.ndjson", 2, "malformed JSON") in errors

    # Accounting: raw rows + rejected lines = lines per file, for every file.
    (raw_rows,) = warehouse.con.execute("select count(*) from raw.orders").fetchone()
    assert raw_rows == sum(rows for _, rows, _ in per_file.values()) == report.rows_loaded
    assert len(errors) == sum(errs for _, _, errs in per_file.values()) == report.rows_rejected

    # Later good files still load.
    LocalStage(warehouse.settings.stage_dir).write("orders", 99, [event(99)])
    assert warehouse.ingest().rows_loaded == 1


def test_a_resent_file_with_other_content_is_skipped_and_reported(warehouse):
    stage = LocalStage(warehouse.settings.stage_dir)
    staged = stage.write("orders", 0, [event(1), event(2)])
    warehouse.ingest()
    staged.path.write_text(event(3) + "\n" + event(4) + "\n" + event(5) + "\n")
    report = warehouse.ingest()
    assert (report.files, report.rows_loaded, report.files_skipped) == (0, 0, 1)
    assert warehouse.ingest().files_skipped == 0  # reported once
    skips = warehouse.con.execute("select file_name, file_sha256 from ops.load_skips").fetchall()
    assert skips == [(staged.name, hashlib.sha256(staged.path.read_bytes()).hexdigest())]
    assert count(warehouse.con, "select count(*) from raw.orders") == 2
