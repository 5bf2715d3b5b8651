"""Bad input, issue 21, classes 6 and 7.

6. A failure ends in one line: its cause and what to do. Each failure is made
   for real where this machine allows it, by the same scripts a user runs:
   - disk full: a small tmpfs (a private mount namespace, `unshare`) filled up
     to a few megabytes, which gives the real ENOSPC; and, where no namespace
     can be made, RLIMIT_FSIZE (`ulimit -f`), whose EFBIG stands in for it;
   - a damaged warehouse: bytes of a real warehouse.duckdb overwritten in the
     middle (in a block a mart's rows live in), at its header, or the file cut
     short;
   - a home that cannot be written: a read-only bind mount (EROFS, for root
     too), and `chmod a-w` (EACCES; as root, run in a new user namespace,
     where root has no capability over the files, so their modes apply).
   After each, doing what the line says recovers: reconcile agrees.
7. Nothing a user or producer names reaches SQL unquoted: `--replay-columns`
   (DuckDB, executed), stage file names (DuckDB, executed; Snowflake's PUT,
   parsed with sqlglot as exactly one statement with the path as one string
   literal), and `make demo` serves the dashboard on 127.0.0.1 only.
"""

from __future__ import annotations

import csv
import json
import os
import re
import resource
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import sqlglot
from conftest import PROJECT_DIR, simulate
from sqlglot import exp

from snowcart.errors import ConfigError

WAREHOUSE = "warehouse.duckdb"
# DuckDB's file layout: a file header and two database headers, then blocks.
BLOCK_SIZE = 256 * 1024
HEADER_SIZE = 3 * 4096


def run_script(
    script: str, *args: str, home: Path, preexec_fn=None, timeout: int = 300
) -> subprocess.CompletedProcess:
    """`python scripts/<script> ARGS --home HOME` from the project folder, as a user runs it."""
    env = {**os.environ, "SNOWCART_HOME": str(home), "DBT_TARGET_PATH": str(home / "target")}
    env.pop("SNOWCART_TARGET", None)
    return subprocess.run(
        [sys.executable, f"scripts/{script}", *args, "--home", str(home)],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        preexec_fn=preexec_fn,
    )


def the_error_line(result: subprocess.CompletedProcess) -> str:
    """The one `error: ` line a failed command ends with; no traceback anywhere."""
    output = result.stdout + result.stderr
    assert result.returncode == 1, output[-3000:]
    assert "Traceback" not in output, output[-3000:]
    errors = [line for line in result.stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, result.stderr[-3000:]
    assert result.stderr.rstrip().endswith(errors[0])
    return errors[0]


def assert_reconciled(home: Path) -> None:
    result = run_script("reconcile.py", home=home)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "reconciled" in result.stdout


@pytest.fixture(scope="module")
def built_home(tmp_path_factory) -> Path:
    """A home after a real run: stage, ledger, warehouse with every model, serving file."""
    home = tmp_path_factory.mktemp("built") / "home"
    result = simulate("--events", "500", "--rate", "0", "--seed", "7", home=home)
    assert result.returncode == 0, result.stderr[-3000:]
    return home


@pytest.fixture
def home(built_home, tmp_path) -> Path:
    copy = tmp_path / "home"
    shutil.copytree(built_home, copy, symlinks=True)
    return copy


def namespace_can_mount(tmp_path: Path) -> bool:
    """Whether this machine lets a test make a private mount namespace with a tmpfs."""
    if shutil.which("unshare") is None:
        return False
    point = tmp_path / "probe-mount"
    point.mkdir()
    probe = subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "sh", "-c",
         'mount -t tmpfs -o size=1m tmpfs "$1"', "sh", str(point)],
        capture_output=True, timeout=30,
    )  # fmt: skip
    return probe.returncode == 0


def in_namespace(script: str, *args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    """A shell script run as root of a private user + mount namespace: its mounts
    vanish with it, and nothing outside sees them."""
    return subprocess.run(
        ["unshare", "--user", "--map-root-user", "--mount", "bash", "-c", script, "bash", *args],
        cwd=PROJECT_DIR,
        env={key: value for key, value in os.environ.items() if key != "SNOWCART_TARGET"},
        capture_output=True,
        text=True,
        timeout=timeout,
    )


class Recorded:
    """A command's outcome, as files the namespace script left behind."""

    def __init__(self, folder: Path, name: str) -> None:
        self.returncode = int((folder / f"{name}.rc").read_text())
        self.stdout = (folder / f"{name}.out").read_text()
        self.stderr = (folder / f"{name}.err").read_text()


# ------------------------------------------------------------ 6: disk full

# A tmpfs with the home on it, filled up but for 3 MB; 20,000 events cannot fit.
# Then the filler goes (space freed), the same command runs again as the error
# line says, and reconcile checks the home.
DISK_FULL_SCRIPT = r"""
set -u
mnt=$1; template=$2; out=$3; python=$4
mount -t tmpfs -o size=64m tmpfs "$mnt" || exit 97
cp -a "$template" "$mnt/home"
free_kb=$(df -k --output=avail "$mnt" | tail -1)
dd if=/dev/zero of="$mnt/filler" bs=1024 count=$((free_kb - 3072)) status=none
step() {
    name=$1; shift
    SNOWCART_HOME="$mnt/home" DBT_TARGET_PATH="$mnt/home/target" \
        "$python" "$@" --home "$mnt/home" >"$out/$name.out" 2>"$out/$name.err"
    echo $? >"$out/$name.rc"
}
step full scripts/simulate.py --events 20000 --rate 0
rm "$mnt/filler"
step again scripts/simulate.py --events 20000 --rate 0
step reconcile scripts/reconcile.py
"""


def test_disk_full_is_one_line_and_freeing_space_then_rerunning_loses_nothing(built_home, tmp_path):
    """The real ENOSPC, on a full tmpfs."""
    if not namespace_can_mount(tmp_path):
        pytest.skip("no private mount namespace here (unshare); the RLIMIT_FSIZE test stands in")
    point, out = tmp_path / "mnt", tmp_path / "out"
    point.mkdir()
    out.mkdir()
    done = in_namespace(DISK_FULL_SCRIPT, str(point), str(built_home), str(out), sys.executable)
    assert done.returncode == 0, done.stderr
    full = Recorded(out, "full")
    line = the_error_line(full)
    assert line.startswith("error: disk full (")
    assert "No space left on device" in line
    assert "Free space on the disk holding " in line and "run the same command again" in line
    assert "cannot rollback" not in line
    again = Recorded(out, "again")
    assert again.returncode == 0, again.stderr[-3000:]
    reconcile = Recorded(out, "reconcile")
    assert reconcile.returncode == 0, reconcile.stdout[-3000:] + reconcile.stderr[-3000:]
    assert "reconciled" in reconcile.stdout


def test_a_failure_inside_dbt_keeps_its_cause_for_the_one_line(tmp_path, monkeypatch):
    """A node dbt could not build (here: the disk filled while it wrote) says why,
    so the one line is the disk-full advice, not "model.x (error)"."""
    from types import SimpleNamespace

    from snowcart.cli.common import explain
    from snowcart.engines.dbt_runner import Dbt
    from snowcart.errors import BuildError
    from snowcart.settings import Settings

    settings = Settings.resolve("dev", tmp_path)
    failed = SimpleNamespace(
        status="error",
        message="Runtime Error in model fct_sales (models/marts/sales/fct_sales.sql)\n"
        "  IO Error: Could not write file: No space left on device",
        node=SimpleNamespace(unique_id="model.snowcart.fct_sales"),
    )
    outcome = SimpleNamespace(
        exception=None, success=False, result=SimpleNamespace(results=[failed])
    )
    runner = SimpleNamespace(invoke=lambda args: outcome)
    dbt = Dbt(settings)
    monkeypatch.setattr(dbt, "_parsed_runner", lambda: runner)
    with pytest.raises(BuildError) as raised:
        dbt.build()
    assert str(raised.value) == (
        "dbt build failed: model.snowcart.fct_sales "
        "(error: IO Error: Could not write file: No space left on device)"
    )
    assert raised.value.failed_nodes == ["model.snowcart.fct_sales"]
    assert explain(raised.value, settings).startswith("disk full (")


def test_a_file_size_limit_is_one_line_and_rerunning_loses_nothing(home):
    """RLIMIT_FSIZE makes a write past the limit fail with EFBIG (SIGXFSZ ignored,
    as a shell's `ulimit -f` leaves it when a program handles it): it stands in
    for ENOSPC where no tmpfs can be mounted. Only the tmpfs test above proves
    the message for a disk that is really full."""
    limit = (home / WAREHOUSE).stat().st_size + BLOCK_SIZE

    def file_size_limit() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    full = run_script(
        "simulate.py", "--events", "100000", "--rate", "0", home=home, preexec_fn=file_size_limit
    )
    # Then without the limit: a drain (cheaper than the same 100,000 events again;
    # the tmpfs test runs the same command again).
    line = the_error_line(full)
    assert line.startswith("error: a file reached the size limit (")
    assert "File too large" in line and "run the same command again" in line
    assert "cannot rollback" not in line
    again = run_script("simulate.py", "--events", "0", home=home)
    assert again.returncode == 0, again.stderr[-3000:]
    assert_reconciled(home)


# ----------------------------------------------------- 6: a damaged warehouse


def middle_block_of_a_mart(path: Path) -> tuple[str, int]:
    """The mart and the byte offset of the used block nearest the middle of the file
    that holds that mart's rows (reconcile reads no mart)."""
    with duckdb.connect(str(path), read_only=True) as con:
        marts = con.execute(
            "select table_name from duckdb_tables() where schema_name = 'analytics'"
        ).fetchall()
        blocks = [
            (mart, HEADER_SIZE + block * BLOCK_SIZE)
            for (mart,) in marts
            for (block,) in con.execute(
                "select distinct block_id from pragma_storage_info(?) where block_id >= 0",
                [f"analytics.{mart}"],
            ).fetchall()
        ]
    middle = path.stat().st_size // 2
    return min(blocks, key=lambda block: abs(block[1] - middle))


def overwrite(path: Path, offset: int, length: int) -> None:
    with open(path, "r+b") as handle:
        handle.seek(offset)
        handle.write((b"garbage!" * (length // 8 + 1))[:length])


def rebuild_advice(home: Path) -> str:
    path = home / WAREHOUSE
    return f"mv {path} {path}.damaged && python scripts/simulate.py --events 0 --home {home}"


def test_reconcile_finds_garbage_in_the_middle_of_the_warehouse_and_the_advice_rebuilds_it(
    home,
):
    mart, offset = middle_block_of_a_mart(home / WAREHOUSE)
    overwrite(home / WAREHOUSE, offset + 100, 4096)
    line = the_error_line(run_script("reconcile.py", home=home))
    assert line.startswith(f"error: the warehouse {home / WAREHOUSE} is damaged (")
    assert f"analytics.{mart}" in line and "checksum" in line
    assert rebuild_advice(home) in line
    # Doing what it says:
    (home / WAREHOUSE).rename(home / f"{WAREHOUSE}.damaged")
    rebuilt = run_script("simulate.py", "--events", "0", home=home)
    assert rebuilt.returncode == 0, rebuilt.stderr[-3000:]
    assert_reconciled(home)


@pytest.mark.parametrize(
    "damage",
    ["header", "cut short"],
)
@pytest.mark.parametrize("script", ["pipeline.py --drain", "reconcile.py"])
def test_a_damaged_warehouse_is_one_line_naming_the_file_and_the_rebuild(home, damage, script):
    path = home / WAREHOUSE
    if damage == "header":
        overwrite(path, 100, 64)  # the file header's checksummed block
    else:
        os.truncate(path, path.stat().st_size // 3)
    name, *args = script.split()
    line = the_error_line(run_script(name, *args, home=home))
    assert line.startswith(f"error: the warehouse {path} is damaged (")
    assert rebuild_advice(home) in line
    assert f"check it with python scripts/reconcile.py --home {home}" in line


def test_a_warehouse_held_by_another_process_is_one_line(home):
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys, time; con = duckdb.connect(sys.argv[1]);"
         " print('open', flush=True); time.sleep(60)", str(home / WAREHOUSE)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "open"
        for script in (["pipeline.py", "--drain"], ["reconcile.py"]):
            line = the_error_line(run_script(*script, home=home))
            assert line.startswith(f"error: the warehouse {home / WAREHOUSE} is in use by ")
            assert f"PID {holder.pid}: {sys.executable} -c " in line
    finally:
        holder.kill()
        holder.wait()


# ----------------------------------------------------- 6: a read-only home

READ_ONLY_SCRIPT = r"""
set -u
home=$1; out=$2; python=$3
mount --bind "$home" "$home" && mount -o remount,bind,ro "$home" || exit 97
step() {
    name=$1; shift
    SNOWCART_HOME="$home" DBT_TARGET_PATH="$home/target" \
        "$python" "$@" --home "$home" >"$out/$name.out" 2>"$out/$name.err"
    echo $? >"$out/$name.rc"
}
step simulate scripts/simulate.py --events 10 --rate 0
step pipeline scripts/pipeline.py --drain
step reconcile scripts/reconcile.py
"""


def assert_not_writable(line: str, home: Path) -> None:
    assert line.startswith(f"error: cannot use {home} as home: it is not writable (")
    assert "pass another folder with --home DIR" in line


def test_a_read_only_home_is_one_line_and_reconcile_still_reads_it(home, tmp_path):
    """A read-only bind mount of the home: EROFS for every process, root included."""
    if not namespace_can_mount(tmp_path):
        pytest.skip("no private mount namespace here (unshare)")
    out = tmp_path / "out"
    out.mkdir()
    done = in_namespace(READ_ONLY_SCRIPT, str(home), str(out), sys.executable)
    assert done.returncode == 0, done.stderr
    for name in ("simulate", "pipeline"):
        line = the_error_line(Recorded(out, name))
        assert_not_writable(line, home)
        assert "Read-only file system" in line
    reconcile = Recorded(out, "reconcile")
    assert reconcile.returncode == 0, reconcile.stderr[-3000:]
    assert "reconciled" in reconcile.stdout


def test_a_home_without_write_permission_is_one_line(home):
    """File modes (chmod a-w), which stop every user without CAP_DAC_OVERRIDE:
    as root, the command runs in a new user namespace, where root has no
    capability over this machine's files, so their modes apply to it too."""
    prefix: list[str] = []
    if os.geteuid() == 0:
        if shutil.which("unshare") is None:
            pytest.skip("root ignores file modes, and no user namespace (unshare) here")
        prefix = ["unshare", "--user"]
    modes = {path: path.stat().st_mode for path in [home, *home.rglob("*")]}
    for path in modes:
        path.chmod(modes[path] & ~0o222)
    try:
        env = {**os.environ, "SNOWCART_HOME": str(home), "DBT_TARGET_PATH": str(home / "target")}
        env.pop("SNOWCART_TARGET", None)
        result = subprocess.run(
            [*prefix, sys.executable, "scripts/pipeline.py", "--drain", "--home", str(home)],
            cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        line = the_error_line(result)
        assert_not_writable(line, home)
        assert "Permission denied" in line
    finally:
        for path, mode in modes.items():
            path.chmod(mode)


def test_a_chain_ending_in_a_failed_rollback_is_explained_by_its_first_cause(capsys):
    """The pipe's shape of disk full: the commit fails, then its rollback does too."""
    from snowcart.cli.common import run_guarded

    def main(stop):  # noqa: ARG001
        try:
            raise duckdb.TransactionException(
                'Failed to commit: Could not write file "/h/warehouse.duckdb.wal": '
                "No space left on device"
            )
        except duckdb.Error:
            # As in the pipe: the first cause is only the implicit __context__.
            raise duckdb.TransactionException("cannot rollback - no transaction is active")  # noqa: B904

    assert run_guarded(main) == 1
    stderr = capsys.readouterr().err
    assert stderr.startswith("error: disk full (")
    assert "No space left on device" in stderr and stderr.count("\n") == 1


# ------------------------------------------------ 7: --replay-columns


def write_csv(path: Path, header: list[str], rows: list[list[object]]) -> Path:
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


UCI_HEADER = [
    "InvoiceNo", "StockCode", "Description", "Quantity", "InvoiceDate", "UnitPrice",
    "CustomerID", "Country",
]  # fmt: skip
UCI_ROWS = [
    ["536365", "85123A", "HEART HOLDER", 6, "2010-12-01 08:26:00", 2.55, 17850, "United Kingdom"],
    ["536366", "22633", "HAND WARMER", 2, "2010-12-01 08:28:00", 1.85, 17850, "United Kingdom"],
]


def test_a_column_map_cannot_read_a_file_into_the_events(tmp_path):
    from snowcart.sources.replay import ColumnMapping, Replay

    source = write_csv(tmp_path / "shop.csv", UCI_HEADER, UCI_ROWS)
    secret = tmp_path / "secret.txt"
    secret.write_text("TOP-SECRET")
    crafted = f"invoice=InvoiceNo\" || (select content from read_text('{secret}')) || \"InvoiceNo"
    with pytest.raises(ConfigError) as raised:
        replay = Replay(source, ColumnMapping.parse(crafted))
        assert not any("TOP-SECRET" in payload for payload in replay.payloads)
    message = str(raised.value)
    assert "\n" not in message
    assert "no column" in message and "its columns are: " + ", ".join(UCI_HEADER) in message


def test_a_column_map_cannot_run_a_second_statement(tmp_path):
    """Without a comma (the map's separator) and with the bound `$path` only in
    the last statement, as DuckDB requires: on the old code COPY wrote the file."""
    from snowcart.sources.replay import ColumnMapping, Replay

    source = write_csv(tmp_path / "shop.csv", UCI_HEADER, UCI_ROWS)
    written = tmp_path / "written.csv"
    crafted = (
        f"country=Country\" as varchar) as country from read_csv('{source}'); "
        f"copy (select 42 as answer) to '{written}'; "
        'create temp table ignored as select cast("Country'
    )
    with pytest.raises(ConfigError, match="no column"):
        Replay(source, ColumnMapping.parse(crafted))
    assert not written.exists()


def test_an_unknown_column_is_one_line_naming_the_real_columns(tmp_path):
    from snowcart.sources.replay import ColumnMapping, Replay

    source = write_csv(tmp_path / "shop.csv", ["order_no", *UCI_HEADER[1:]], UCI_ROWS)
    with pytest.raises(ConfigError) as raised:
        Replay(source, ColumnMapping.parse("invoice=OrderNumber"))
    assert str(raised.value) == (
        f"--replay {source}: no column 'OrderNumber' (for invoice); its columns are: "
        + ", ".join(["order_no", *UCI_HEADER[1:]])
        + " (map them with --replay-columns field=Column)"
    )
    with pytest.raises(ConfigError, match=r"no column 'InvoiceNo' \(for invoice\)"):
        Replay(source)  # the UCI default


def test_columns_named_with_quotes_semicolons_and_keywords_are_read_as_names(tmp_path):
    from snowcart.sources.replay import ColumnMapping, Replay

    header = [
        'Invoice "No"', "Stock; Code", "select", "from", "Qty'); drop table x; --",
        "Invoice Date", "price=unit", "Customer",
    ]  # fmt: skip
    source = write_csv(tmp_path / "odd; name's.csv", header, UCI_ROWS)
    mapping = ColumnMapping.parse(
        'invoice=Invoice "No",stock_code=Stock; Code,description=select,quantity=from,'
        "invoice_date=Qty'); drop table x; --,unit_price=Invoice Date,"
        "customer_id=price=unit,country=Customer"
    )
    replay = Replay(source, mapping)
    assert replay.report.rows_read == 2 and replay.report.orders == 2
    orders = [json.loads(p) for p, t in zip(replay.payloads, replay.tables, strict=True)
              if t == "orders"]  # fmt: skip
    assert [order["order_id"] for order in orders] == ["536365", "536366"]


def test_a_replay_file_named_like_a_glob_reads_only_itself(tmp_path):
    from snowcart.sources.replay import Replay

    write_csv(tmp_path / "shop1.csv", UCI_HEADER, UCI_ROWS)
    named = write_csv(tmp_path / "shop[1].csv", UCI_HEADER, UCI_ROWS[:1])
    assert Replay(named).report.rows_read == 1


# ------------------------------------------------ 7: stage names, DuckDB

ODD_NAMES = [
    "batch-1'; drop table raw.orders; --.ndjson",
    'batch-2"); select 1; --.ndjson',
    "select * from raw.orders where 1=1.ndjson",
    "batch-4 \\'.ndjson",
]
GLOB_NAMES = ["batch-5*.ndjson", "batch-6?.ndjson", "batch-[7].ndjson"]


@pytest.fixture(scope="module")
def empty_warehouse(tmp_path_factory):
    from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
    from snowcart.settings import Settings

    home = tmp_path_factory.mktemp("template")
    warehouse = DuckDBWarehouse(Settings.resolve("dev", home))
    warehouse.setup()
    warehouse.con.execute("checkpoint")
    warehouse.close()
    return home / WAREHOUSE


def odd_home(tmp_path: Path) -> Path:
    return tmp_path / "o'home; drop table x; --" / "select"


@pytest.fixture
def duckdb_warehouse(empty_warehouse, tmp_path):
    from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
    from snowcart.settings import Settings

    home = odd_home(tmp_path)
    home.mkdir(parents=True)
    shutil.copyfile(empty_warehouse, home / WAREHOUSE)
    opened = DuckDBWarehouse(Settings.resolve("dev", home))
    yield opened
    opened.close()


def order_event(number: int) -> str:
    return json.dumps({"event_id": f"E{number}", "order_id": f"O{number}", "lines": []})


def test_duckdb_loads_stage_files_named_like_sql_each_as_itself(duckdb_warehouse):
    folder = duckdb_warehouse.settings.stage_dir / "orders"
    folder.mkdir(parents=True)
    for number, name in enumerate(ODD_NAMES):
        (folder / name).write_text(order_event(number) + "\n")
    report = duckdb_warehouse.ingest()
    con = duckdb_warehouse.con
    assert (report.files, report.rows_loaded) == (len(ODD_NAMES), len(ODD_NAMES))
    loaded = dict(
        con.execute("select _file_name, payload ->> 'event_id' from raw.orders").fetchall()
    )
    assert loaded == {f"orders/{name}": f"E{number}" for number, name in enumerate(ODD_NAMES)}
    assert con.execute("select count(*) from ops.load_history").fetchone()[0] == len(ODD_NAMES)


def test_duckdb_reads_a_stage_file_named_like_a_glob_as_that_one_file(duckdb_warehouse):
    """`*`, `?` and `[...]` in a name are characters, not a pattern over other files."""
    folder = duckdb_warehouse.settings.stage_dir / "orders"
    folder.mkdir(parents=True)
    for number, name in enumerate(GLOB_NAMES, start=5):
        (folder / name).write_text(order_event(number) + "\n")
    (folder / "batch-7.ndjson").write_text(order_event(70) + "\n")
    duckdb_warehouse.ingest()
    loaded = sorted(
        duckdb_warehouse.con.execute(
            "select _file_name, payload ->> 'event_id' from raw.orders"
        ).fetchall()
    )
    assert loaded == sorted(
        [(f"orders/{name}", f"E{n}") for n, name in enumerate(GLOB_NAMES, start=5)]
        + [("orders/batch-7.ndjson", "E70")]
    )


# ------------------------------------------------ 7: stage names, Snowflake


def parsed_put(sql: str) -> exp.Put:
    statements = sqlglot.parse(sql, read="snowflake")
    assert len(statements) == 1, sql
    [put] = statements
    assert isinstance(put, exp.Put), sql
    return put


@pytest.mark.parametrize("name", ODD_NAMES + GLOB_NAMES + ["new\nline.ndjson"])
def test_the_put_statement_is_one_statement_with_the_path_as_one_literal(tmp_path, name):
    from snowcart.engines.snowflake.warehouse import put_sql
    from snowcart.stages.local import StagedFile

    path = odd_home(tmp_path) / "stage" / "orders" / name
    put = parsed_put(put_sql("raw", StagedFile("orders", path)))
    assert isinstance(put.this, exp.Literal) and put.this.is_string
    assert put.this.this == f"file://{path.as_posix()}"
    assert put.args["target"].sql(dialect="snowflake") == "@raw.landing/orders/"


@pytest.mark.parametrize(
    "raw, table",
    [("raw; drop table x", "orders"), ("raw", "orders/../x"), ("select", "orders' --")],
)
def test_put_refuses_names_that_are_not_plain_identifiers(tmp_path, raw, table):
    from snowcart.engines.snowflake.warehouse import put_sql, refresh_pipe_sql
    from snowcart.stages.local import StagedFile

    if raw == "select":  # a keyword is a plain identifier; the quote in the table is not
        with pytest.raises(ConfigError, match="landing table"):
            put_sql(raw, StagedFile(table, tmp_path / "b.ndjson"))
        return
    with pytest.raises(ConfigError):
        put_sql(raw, StagedFile(table, tmp_path / "b.ndjson"))
    with pytest.raises(ConfigError):
        refresh_pipe_sql(raw, table)


class RecordingCursor:
    """Stands in for a Snowflake cursor: records each statement and what it was given."""

    def __init__(self, calls: list) -> None:
        self.calls = calls

    def execute(self, sql: str, *args, **kwargs):
        stream = kwargs.get("file_stream")
        self.calls.append((sql, getattr(stream, "name", None)))
        return self

    def fetchone(self):
        sql = self.calls[-1][0]
        return (False,) * max(sql.count("system$stream_has_data"), 1)


class RecordingConnection:
    def __init__(self) -> None:
        self.calls: list = []

    def cursor(self) -> RecordingCursor:
        return RecordingCursor(self.calls)

    def close(self) -> None:
        pass


def snowflake_warehouse(home: Path, database: str = "SNOWCART"):
    from dataclasses import replace

    from snowcart.engines.snowflake.connection import SnowflakeConfig
    from snowcart.engines.snowflake.warehouse import SnowflakeWarehouse
    from snowcart.settings import Settings

    config = replace(SnowflakeConfig.for_fakesnow(1), database=database)
    warehouse = SnowflakeWarehouse(Settings.resolve("snowflake", home), config)
    warehouse._con = RecordingConnection()
    return warehouse


def test_put_uploads_the_named_file_only_even_when_its_name_is_a_pattern(tmp_path):
    """The connector expands `*`, `?` and `[...]` in a PUT path over the local disk
    (glob); handing it the open file instead uploads exactly that file."""
    home = odd_home(tmp_path)
    folder = home / "stage" / "orders"
    folder.mkdir(parents=True)
    for number, name in enumerate(GLOB_NAMES + ODD_NAMES):
        (folder / name).write_text(order_event(number) + "\n")
    (folder / "batch-7.ndjson").write_text(order_event(70) + "\n")
    (folder / "batch 8 with spaces.ndjson").write_text(order_event(8) + "\n")
    warehouse = snowflake_warehouse(home)
    report = warehouse.ingest()
    puts = [(sql, stream) for sql, stream in warehouse._con.calls if sql.startswith("put ")]
    assert report.files == len(puts) == len(GLOB_NAMES + ODD_NAMES) + 2
    for sql, stream in puts:
        path = parsed_put(sql).this.this.removeprefix("file://")
        assert stream == path, "each PUT hands the connector its own file"
    # The upload log keeps every name as it is: a later run uploads none again.
    assert snowflake_warehouse(home).pending_files() == 0


@pytest.mark.parametrize("database", ["SNOWCART'); select 1; --", "a.b", "SNOW CART"])
def test_a_database_name_that_is_not_plain_never_reaches_snowflake(tmp_path, database):
    home = tmp_path / "home"
    warehouse = snowflake_warehouse(home, database=database)
    with pytest.raises(ConfigError, match="SNOWFLAKE_DATABASE"):
        warehouse.consumers_with_data()
    assert warehouse._con.calls == []


def test_stream_checks_are_one_statement_of_string_literals(tmp_path):
    warehouse = snowflake_warehouse(tmp_path / "home")
    warehouse.consumers_with_data()
    [(sql, _)] = warehouse._con.calls
    [select] = sqlglot.parse(sql, read="snowflake")
    literals = [literal.this for literal in select.find_all(exp.Literal)]
    assert literals and all(re.fullmatch(r"SNOWCART\.raw\.\w+__\w+", name) for name in literals)


# ------------------------------------------------ 7: the dashboard's address


def make_dry_run(target: str, *variables: str) -> str:
    result = subprocess.run(
        ["make", "--dry-run", "--always-make", target, *variables],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return result.stdout.replace("\\\n", " ")  # a recipe's continued lines as one


@pytest.mark.parametrize("target", ["demo", "dashboard"])
def test_make_serves_the_dashboard_on_localhost_unless_asked(target):
    default = make_dry_run(target)
    streamlit = [line for line in default.splitlines() if "streamlit run" in line]
    assert streamlit and all("--server.address 127.0.0.1" in line for line in streamlit)
    asked = make_dry_run(target, "DASHBOARD_ADDRESS=0.0.0.0")
    assert "--server.address 0.0.0.0" in asked
    if target == "demo":
        assert "Dashboard: http://127.0.0.1:8501" in default
