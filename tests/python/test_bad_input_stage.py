"""Bad input at the stage (issue 21, classes 4 and 5): every entry the pipe will
not load is skipped with a reason and reported, a symlink never leads out of the
stage, the good files around a bad one still load, the drain ends; and
reconcile counts the lines of every file as the pipe does (one definition of a
line, stages/lines.py), with or without a producer's ledger."""

from __future__ import annotations

import contextlib
import gzip
import io
import json
import os
import random
import shutil
import subprocess
import sys
import threading
from pathlib import Path

import duckdb
import pytest
from conftest import run

from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
from snowcart.settings import Settings
from snowcart.stages.local import LocalStage


def event(number: int) -> str:
    return json.dumps({"event_id": f"E{number}", "order_id": f"O{number}", "lines": []})


def ndjson(*numbers: int) -> bytes:
    return "".join(event(number) + "\n" for number in numbers).encode()


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory):
    home = tmp_path_factory.mktemp("template")
    warehouse = DuckDBWarehouse(Settings.resolve("dev", home))
    warehouse.setup()
    warehouse.con.execute("checkpoint")
    warehouse.close()
    return home / "warehouse.duckdb"


@pytest.fixture
def warehouse(empty_warehouse, tmp_path):
    shutil.copyfile(empty_warehouse, tmp_path / "warehouse.duckdb")
    opened = DuckDBWarehouse(Settings.resolve("dev", tmp_path))
    yield opened
    opened.close()


def orders_folder(warehouse) -> Path:
    folder = warehouse.settings.stage_dir / "orders"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def loaded_event_ids(warehouse) -> set[str]:
    rows = warehouse.con.execute("select payload ->> 'event_id' from raw.orders").fetchall()
    return {event_id for (event_id,) in rows}


def skips(warehouse) -> dict[str, str]:
    rows = warehouse.con.execute("select file_name, reason from ops.load_skips").fetchall()
    return dict(rows)


# ------------------------------------------------------------- class 4: edges


def test_directories_named_like_stage_files_are_skipped_and_the_rest_loads(warehouse):
    folder = orders_folder(warehouse)
    (folder / "batch-1.ndjson").write_bytes(ndjson(1))
    (folder / "batch-2.ndjson").mkdir()
    (folder / "batch-2.ndjson" / "inner.ndjson").write_bytes(ndjson(2))
    (folder / "spare").mkdir()
    (folder / "batch-3.ndjson").symlink_to(folder / "spare", target_is_directory=True)
    (folder / "batch-4.ndjson").write_bytes(ndjson(4))

    report = warehouse.ingest()

    assert loaded_event_ids(warehouse) == {"E1", "E4"}
    assert report.files == 2
    reasons = skips(warehouse)
    assert "directory" in reasons["orders/batch-2.ndjson"]
    assert "subfolder" in reasons["orders/batch-2.ndjson/inner.ndjson"]
    assert "directory" in reasons["orders/batch-3.ndjson"]
    assert warehouse.pending_files() == 0


def test_names_with_glob_characters_read_only_their_own_file(warehouse, monkeypatch):
    """DuckDB's readers expand `*`, `?` and `[...]`: a staged name holding them
    reads only the file it names, also where the system names no descriptor
    (no /proc) and the reader opens the file by its name."""
    import snowcart.engines.duckdb.pipe as pipe

    real_exists = pipe.os.path.exists
    monkeypatch.setattr(
        pipe.os.path,
        "exists",
        lambda path: not str(path).startswith("/proc/") and real_exists(path),
    )
    folder = orders_folder(warehouse)
    names = ["batch-3.ndjson", "batch-[3].ndjson", "batch-*.ndjson", "batch-?.ndjson"]
    for number, name in enumerate(names, start=1):
        (folder / name).write_bytes(ndjson(number))

    report = warehouse.ingest()

    rows = warehouse.con.execute(
        "select _file_name, payload ->> 'event_id' from raw.orders order by 1"
    ).fetchall()
    # As a pattern, batch-[3] names batch-3: the same one line, the wrong one.
    assert sorted(rows) == sorted(
        (f"orders/{name}", f"E{number}") for number, name in enumerate(names, start=1)
    )
    assert report.files == 4


def test_an_unreadable_file_is_skipped_and_loads_once_it_can_be_read(warehouse, monkeypatch):
    """Tests run as root here, and root reads a chmod-000 file: the open itself is
    made to fail in-process, for the file's name, whatever opens it (the
    end-to-end test below gets a real EACCES from the kernel)."""
    import builtins

    folder = orders_folder(warehouse)
    for number in (1, 2, 3):
        (folder / f"batch-{number}.ndjson").write_bytes(ndjson(number))
    denied = "batch-2.ndjson"
    real_os_open, real_open = os.open, builtins.open

    def refuse(path):
        if os.fspath(path).endswith(denied):
            raise PermissionError(13, "Permission denied", os.fspath(path))

    def os_open(path, *args, **kwargs):
        refuse(path)
        return real_os_open(path, *args, **kwargs)

    def open_(file, *args, **kwargs):
        if isinstance(file, (str, os.PathLike)):
            refuse(file)
        return real_open(file, *args, **kwargs)

    monkeypatch.setattr(os, "open", os_open)
    monkeypatch.setattr(builtins, "open", open_)
    report = warehouse.ingest()
    assert loaded_event_ids(warehouse) == {"E1", "E3"}
    assert report.files_skipped == 1
    assert skips(warehouse)["orders/batch-2.ndjson"].startswith("cannot be read")
    assert "Permission denied" in skips(warehouse)["orders/batch-2.ndjson"]
    assert warehouse.pending_files() == 0
    assert warehouse.ingest().files_skipped == 0  # reported once

    monkeypatch.undo()  # permission given: the file loads at the next pass
    assert warehouse.pending_files() == 1
    assert warehouse.ingest().files == 1
    assert loaded_event_ids(warehouse) == {"E1", "E2", "E3"}
    assert "orders/batch-2.ndjson" not in skips(warehouse)  # a skip that no longer holds


def test_a_dangling_symlink_is_skipped_and_never_pending(warehouse):
    folder = orders_folder(warehouse)
    (folder / "batch-1.ndjson").write_bytes(ndjson(1))
    (folder / "batch-2.ndjson").symlink_to(folder / "gone.ndjson")
    warehouse.ingest()
    assert warehouse.pending_files() == 0, "the drain would wait for it forever"
    assert loaded_event_ids(warehouse) == {"E1"}
    assert "dangling symlink" in skips(warehouse)["orders/batch-2.ndjson"]


def test_symlinks_out_of_the_stage_are_never_followed(warehouse, tmp_path):
    folder = orders_folder(warehouse)
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "events.ndjson").write_bytes(ndjson(90, 91))
    (folder / "batch-1.ndjson").write_bytes(ndjson(1))
    (folder / "batch-2.ndjson").symlink_to("/etc/passwd")
    (folder / "batch-3.ndjson").symlink_to(outside / "events.ndjson")
    (folder / "batch-4.ndjson").symlink_to("batch-1.ndjson")  # inside the stage: followed
    payments = warehouse.settings.stage_dir / "payments"
    payments.symlink_to(outside, target_is_directory=True)  # a whole table folder

    warehouse.ingest()

    errors = warehouse.con.execute("select count(*) from ops.load_errors").fetchone()[0]
    assert errors == 0, "lines of a file outside the stage were read"
    assert loaded_event_ids(warehouse) == {"E1"}
    names = [
        n for (n,) in warehouse.con.execute("select file_name from ops.load_history").fetchall()
    ]
    assert sorted(names) == ["orders/batch-1.ndjson", "orders/batch-4.ndjson"]
    assert warehouse.con.execute("select count(*) from raw.payments").fetchone()[0] == 0
    reasons = skips(warehouse)
    assert "outside the stage" in reasons["orders/batch-2.ndjson"]
    assert "outside the stage" in reasons["orders/batch-3.ndjson"]
    assert "not followed" in reasons["payments"]
    assert warehouse.pending_files() == 0


def test_entries_the_pipe_does_not_load_are_reported_with_a_reason(warehouse):
    stage = warehouse.settings.stage_dir
    folder = orders_folder(warehouse)
    (folder / "batch-1.ndjson").write_bytes(ndjson(1))
    entries = {
        "Orders/batch-1.ndjson": "case-sensitive",
        "misc/batch-1.ndjson": "not a landing table",
        "orders/batch-2.json": "'.json'",
        "orders/batch-3.NDJSON": "case-sensitive",
        "orders/batch-4.jsonl": "'.jsonl'",
        "orders/batch-5": "no extension",
        "orders/sub/batch-6.ndjson": "subfolder",
        "batch-7.ndjson": "stage root",
    }
    for name in entries:
        (stage / name).parent.mkdir(parents=True, exist_ok=True)
        (stage / name).write_bytes(ndjson(7))
    (folder / ".batch-8.ndjson.tmp").write_bytes(b"{")  # a write in progress: not reported

    report = warehouse.ingest()

    assert loaded_event_ids(warehouse) == {"E1"}
    reasons = skips(warehouse)
    assert set(reasons) == set(entries)
    for name, expected in entries.items():
        assert expected in reasons[name], (name, reasons[name])
    assert report.files_skipped == len(entries)
    assert warehouse.ingest().files_skipped == 0  # each reported once
    assert warehouse.pending_files() == 0


def test_a_fifo_is_skipped_without_blocking(warehouse):
    folder = orders_folder(warehouse)
    (folder / "batch-1.ndjson").write_bytes(ndjson(1))
    fifo = folder / "batch-2.ndjson"
    os.mkfifo(fifo)
    outcome: list[object] = []
    worker = threading.Thread(target=lambda: outcome.append(warehouse.ingest()), daemon=True)
    worker.start()
    worker.join(timeout=30)
    if worker.is_alive():  # unblock the reader (each open of the FIFO), then fail
        for _ in range(100):
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
            worker.join(timeout=0.1)
        pytest.fail("the pipe blocked opening a FIFO")
    assert loaded_event_ids(warehouse) == {"E1"}
    assert "not a regular file" in skips(warehouse)["orders/batch-2.ndjson"]


def test_a_file_completed_after_a_partial_load_is_reported(warehouse):
    folder = orders_folder(warehouse)
    late = folder / "batch-1.ndjson"
    late.write_bytes(ndjson(1))  # a producer writing in place, not by rename
    warehouse.ingest()
    with open(late, "ab") as handle:
        handle.write(ndjson(2, 3))
    report = warehouse.ingest()
    assert report.files_skipped == 1
    assert report.skipped == [
        "orders/batch-1.ndjson: already loaded under this name with other content; not reloaded"
    ]


def test_the_status_line_reports_skipped_files(capsys):
    from rich.console import Console

    from snowcart.loop.status import StatusBoard

    with open(os.devnull, "w") as nowhere:
        board = StatusBoard("t", console=Console(file=nowhere), plain_every_s=0)
        skips = [f"orders/x{number}.json: extension '.json' is not loaded" for number in range(23)]
        board.skipped(skips)
        board.skipped(["orders/y.json: extension '.json' is not loaded"])
    out = capsys.readouterr().out
    assert "[t] skipped orders/x0.json: extension '.json' is not loaded" in out
    assert "skipped orders/x19.json" in out and "orders/x20.json" not in out
    assert "and 3 more" in out and "ops.load_skips" in out
    assert "skipped orders/y.json" in out
    assert board.fields["stage files skipped"] == 24


# ------------------------------------------------ class 5: one definition of a line

TRICKY = {
    # name: (bytes, lines as the pipe sees them)
    "lf.ndjson": (ndjson(1, 2), 2),
    "crlf.ndjson": (ndjson(3, 4).replace(b"\n", b"\r\n"), 2),
    "cr-only.ndjson": (ndjson(5, 6, 7).replace(b"\n", b"\r"), 3),
    "crlf-lf.ndjson": (ndjson(8, 9).replace(b"\n", b"\r\n\n"), 4),  # an empty line after each
    "mixed.ndjson": (ndjson(10) + ndjson(11).replace(b"\n", b"\r") + ndjson(12), 3),
    "lf-cr.ndjson": (ndjson(13).replace(b"\n", b"\n\r") + ndjson(14), 3),
    "unterminated-cr.ndjson": (ndjson(15) + event(16).encode() + b"\r", 2),
    "bom.ndjson": (b"\xef\xbb\xbf" + ndjson(17), 1),
    "bom-only.ndjson": (b"\xef\xbb\xbf", 1),
    "members.ndjson.gz": (gzip.compress(ndjson(18)) + gzip.compress(ndjson(19, 20)), 3),
    "members-crlf.ndjson.gz": (
        gzip.compress(ndjson(21).replace(b"\n", b"\r\n"))
        + gzip.compress(ndjson(22).replace(b"\n", b"\r")),
        2,
    ),
    "members-unterminated.ndjson.gz": (
        gzip.compress(event(23).encode()) + gzip.compress(ndjson(24)),
        1,
    ),
    "members-bad-utf8.ndjson.gz": (
        gzip.compress(ndjson(25)) + gzip.compress(b'{"event_id":"\xff"}\n'),
        2,
    ),
    "members-truncated.ndjson.gz": (gzip.compress(ndjson(26)) + gzip.compress(ndjson(27))[:-6], 3),
    "member-then-zeros.ndjson.gz": (gzip.compress(ndjson(28)) + b"\0\0\0\0", 1),  # padding
    "member-then-garbage.ndjson.gz": (gzip.compress(ndjson(29)) + b"garbage", 2),
}


def test_the_pipe_and_reconcile_count_every_tricky_ending_alike(warehouse):
    from snowcart.reconcile import count_lines

    folder = orders_folder(warehouse)
    for name, (content, _) in TRICKY.items():
        (folder / name).write_bytes(content)
    warehouse.ingest()
    history = dict(
        warehouse.con.execute(
            "select file_name, [line_count, row_count + error_count] from ops.load_history"
        ).fetchall()
    )
    seen = {}
    for name, (_, lines) in TRICKY.items():
        pipe_lines, accounted = history[f"orders/{name}"]
        seen[name] = (lines, pipe_lines, accounted, count_lines(folder / name))
    assert {name: (lines,) * 4 for name, (lines, *_) in seen.items()} == seen
    # The endings are line ends, not content: these events load, as plain LF would.
    assert {f"E{n}" for n in [*range(1, 23), 25, 26, 28, 29]} <= loaded_event_ids(warehouse)


def test_lines_are_counted_and_read_alike_on_random_bytes():
    """The one definition, two ways (counted in a pass, read for the slow path):
    the same number of lines, numbered 1..n, on random endings, byte-order
    marks, gzip members, truncation, padding and corruption."""
    from snowcart.stages.lines import inspect, read_lines

    chooser = random.Random(21)
    pieces = [b"\r", b"\n", b"\r\n", b"{}", b"a", b"\xff", b"\xef\xbb\xbf"]
    for _ in range(3000):
        data = b"".join(chooser.choice(pieces) for _ in range(chooser.randint(0, 10)))
        compressed = chooser.random() < 0.5
        stored = data
        if compressed:
            cut = chooser.randint(0, len(data))
            stored = gzip.compress(data[:cut]) + gzip.compress(data[cut:])
            damage = chooser.random()
            if damage < 0.2:
                stored = stored[: chooser.randint(0, len(stored))]
            elif damage < 0.3:
                stored += chooser.choice([b"\0\0", b"junk"])
            elif damage < 0.4:
                at = chooser.randrange(len(stored))
                stored = stored[:at] + bytes([stored[at] ^ 0x5A]) + stored[at + 1 :]
        facts = inspect(io.BytesIO(stored), compressed)
        read = read_lines(io.BytesIO(stored), compressed)
        assert [number for number, _, _ in read] == list(range(1, facts.line_count + 1)), stored


def test_the_bulk_reader_gives_the_lines_of_the_definition(warehouse):
    """Files whose lines all end in LF go through DuckDB's reader: the same lines
    (text and number) as the definition's own reader."""
    from snowcart.engines.duckdb.pipe import CLASSIFY_LINES, READ_LINES
    from snowcart.stages.lines import inspect, read_lines

    corpus = {
        "plain.ndjson": ndjson(1, 2, 3),
        "blank-lines.ndjson": b"\n\n" + ndjson(4) + b"\n\n",
        "unterminated.ndjson": ndjson(5) + event(6).encode(),
        "bom.ndjson": b"\xef\xbb\xbf" + ndjson(7),
        "spaces.ndjson": b"  \n\t\n" + ndjson(8),
        "hash.ndjson": b"# not a comment\n" + ndjson(9),
        "quotes.ndjson": b'"a\n"b"\n',
        "members.ndjson.gz": gzip.compress(ndjson(10)) + gzip.compress(ndjson(11)),
        "empty.ndjson": b"",
    }
    folder = orders_folder(warehouse)
    for name, content in corpus.items():
        path = folder / name
        path.write_bytes(content)
        compressed = name.endswith(".gz")
        with open(path, "rb") as handle:
            assert inspect(handle, compressed).lf_only, name
        with open(path, "rb") as handle:
            expected = [(number, text) for number, text, _ in read_lines(handle, compressed)]
        bulk = warehouse.con.execute(
            "select line_number, line from ("
            + CLASSIFY_LINES.format(source=f"({READ_LINES})")
            + ") order by line_number",
            {"path": str(path), "compression": "gzip" if compressed else "none"},
        ).fetchall()
        if name == "bom.ndjson":  # the mark is no part of the line either way
            assert expected[0][1] == bulk[0][1] == event(7)
        assert bulk == expected, name


# ------------------------------------------------------------------ end to end


def stage_from_another_producer(home: Path) -> tuple[dict[str, int], list[bytes]]:
    """A real shop's batches, rewritten as another producer would (CRLF, CR-only,
    blank lines, multi-member gzip), with no ledger. Returns the lines per table
    and a few of its order events (sent again, they are plain duplicates)."""
    from snowcart.sources.generator import ShopGenerator
    from snowcart.sources.producer import Producer

    source = home.parent / f"{home.name}-source"
    producer = Producer(
        ShopGenerator(seed=21), LocalStage(source / "stage"), source / "ledger.ndjson",
        source / "producer.json",
    )  # fmt: skip
    producer.run(2000, 0, stop=threading.Event())
    endings = [b"\r\n", b"\r", b"\r\n\n", b"\n"]
    lines_by_table: dict[str, int] = {}
    for index, path in enumerate(sorted((source / "stage").glob("*/*.ndjson"))):
        table = path.parent.name
        folder = home / "stage" / table
        folder.mkdir(parents=True, exist_ok=True)
        events = path.read_bytes().splitlines()
        ending = endings[index % len(endings)]
        text = b"".join(line + ending for line in events)
        lines_by_table[table] = lines_by_table.get(table, 0) + len(events) * (
            2 if ending == b"\r\n\n" else 1
        )
        if index % 3 == 0:  # gzip, one member per half
            half = len(text) // 2
            cut = text.index(b"\n", half) + 1 if b"\n" in text[half:] else len(text)
            (folder / f"{path.stem}.ndjson.gz").write_bytes(
                gzip.compress(text[:cut]) + gzip.compress(text[cut:])
            )
        else:
            (folder / path.name).write_bytes(text)
    orders = sorted((source / "stage" / "orders").glob("*.ndjson"))[0]
    placed = [line for line in orders.read_bytes().splitlines() if b'"order_placed"' in line]
    return lines_by_table, placed[:3]


def reconcile_script(home: Path) -> subprocess.CompletedProcess:
    return run([sys.executable, "scripts/reconcile.py"], home=home)


def test_reconcile_agrees_with_the_pipe_without_a_ledger_and_after_a_purge(tmp_path):
    home = tmp_path / "home"
    stage_from_another_producer(home)
    drained = run([sys.executable, "scripts/pipeline.py", "--drain"], home=home, timeout=600)
    assert drained.returncode == 0, drained.stderr[-3000:]

    reconciled = reconcile_script(home)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "MISMATCH" not in reconciled.stderr
    assert "no ledger" in reconciled.stdout

    # Loaded files removed from the stage (a purge after loading) are no loss.
    purged = sorted((home / "stage" / "orders").iterdir())[0]
    purged.unlink()
    reconciled = reconcile_script(home)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "staged files not loaded yet" not in reconciled.stderr
    assert f"orders/{purged.name}" in reconciled.stdout and "no longer in the stage" in (
        reconciled.stdout
    )


def without_file_permission_override() -> list[str]:
    """A prefix that makes chmod 000 bind even for root: the kernel then refuses
    the open with EACCES, as for any other user (setpriv drops the capabilities
    that let root read any file)."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root without setpriv: chmod 000 cannot deny a read")
    return [setpriv, "--bounding-set=-dac_override,-dac_read_search"]


def test_bad_stage_entries_never_stop_the_drain(tmp_path, monkeypatch):
    """One home with every bad entry at once; the drain exits 0, loads every good
    file of this batch and the next, reports each skip (status line, Pipeline
    health); reconcile agrees."""
    home = tmp_path / "home"
    lines_by_table, resent = stage_from_another_producer(home)
    stage = home / "stage"
    orders = stage / "orders"
    outside = tmp_path / "outside.ndjson"
    outside.write_bytes(ndjson(900))
    (orders / "zz-dir.ndjson").mkdir()
    (orders / "zz-dangling.ndjson").symlink_to(orders / "nothing-here.ndjson")
    (orders / "zz-passwd.ndjson").symlink_to("/etc/passwd")
    (orders / "zz-outside.ndjson").symlink_to(outside)
    os.mkfifo(orders / "zz-fifo.ndjson")
    (orders / "zz-denied.ndjson").write_bytes(ndjson(901))
    (orders / "zz-denied.ndjson").chmod(0)
    (stage / "Orders").mkdir()
    (stage / "Orders" / "batch-1.ndjson").write_bytes(ndjson(902))
    (orders / "zz.json").write_bytes(ndjson(903))
    (orders / "zz.NDJSON").write_bytes(ndjson(904))
    (stage / "root.ndjson").write_bytes(ndjson(905))
    late = orders / "zz-late.ndjson"
    late.write_bytes(resent[0] + b"\n")  # completed after it was loaded, below
    prefix = without_file_permission_override()

    drained = run(
        [*prefix, sys.executable, "scripts/pipeline.py", "--drain"], home=home, timeout=600
    )
    assert drained.returncode == 0, drained.stderr[-3000:]
    assert "Traceback" not in drained.stderr
    for name in (
        "orders/zz-dir.ndjson", "orders/zz-dangling.ndjson", "orders/zz-passwd.ndjson",
        "orders/zz-outside.ndjson", "orders/zz-fifo.ndjson", "orders/zz-denied.ndjson",
        "Orders/batch-1.ndjson", "orders/zz.json", "orders/zz.NDJSON", "root.ndjson",
    ):  # fmt: skip
        assert f"skipped {name}: " in drained.stdout, name

    with open(late, "ab") as handle:
        handle.write(resent[1] + b"\n")
    LocalStage(stage).write("orders", 99, [resent[2].decode()])  # a later good batch
    drained = run(
        [*prefix, sys.executable, "scripts/pipeline.py", "--drain"], home=home, timeout=600
    )
    assert drained.returncode == 0, drained.stderr[-3000:]
    assert "skipped orders/zz-late.ndjson: already loaded" in drained.stdout

    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        loaded = dict(
            con.execute(
                "select table_name, sum(line_count) from ops.load_history group by 1"
            ).fetchall()
        )
        files = dict(
            con.execute("select _file_name, count(*) from raw.orders group by 1").fetchall()
        )
        ids = {
            i for (i,) in con.execute("select payload ->> 'event_id' from raw.orders").fetchall()
        }
        passwd = con.execute(
            "select count(*) from ops.load_errors where raw_line like '%root:%'"
        ).fetchone()[0]
    assert passwd == 0
    assert files["orders/zz-late.ndjson"] == 1 and files["orders/batch-0000000099.ndjson"] == 1
    assert not ids & {"E900", "E901", "E902", "E903", "E904", "E905"}
    for table, lines in lines_by_table.items():
        extra = 2 if table == "orders" else 0  # zz-late (first version) and batch 99
        assert loaded[table] == lines + extra, table

    reconciled = run([*prefix, sys.executable, "scripts/reconcile.py"], home=home)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
    assert "MISMATCH" not in reconciled.stderr
    assert "orders/zz-late.ndjson" in reconciled.stdout
    assert "Orders/batch-1.ndjson" in reconciled.stdout

    # Pipeline health lists every skip, from the serving file.
    from conftest import PROJECT_DIR
    from streamlit.testing.v1 import AppTest

    monkeypatch.setattr(sys, "argv", ["app.py", "--home", str(home), "--refresh-seconds", "60"])
    monkeypatch.delenv("SNOWCART_TARGET", raising=False)
    app = AppTest.from_file(str(PROJECT_DIR / "dashboard" / "app.py"), default_timeout=60)
    app.run()
    assert not app.exception, [exception.value for exception in app.exception]
    [health] = [tab for tab in app.tabs if tab.label == "Pipeline health"]
    [skipped] = [frame.value for frame in health.dataframe if "file_name" in frame.value.columns]
    assert {"orders/zz-passwd.ndjson", "orders/zz-late.ndjson", "root.ndjson"} <= set(
        skipped["file_name"]
    )
    assert any("11 stage files not loaded" in caption.value for caption in health.caption)
