"""Bad input and bad configuration: one line, non-zero exit, never a traceback."""

import sys
import threading

import pytest
from conftest import run, simulate


@pytest.mark.parametrize(
    "args, message",
    [
        (["--events", "-5"], "--events: must be >= 0"),
        (["--rate", "fast"], "--rate: invalid non_negative_float value"),
        (["--target", "postgres"], "--target: invalid choice"),
        (["--bogus"], "unrecognized arguments: --bogus"),
        (["--backfil", "2"], "unrecognized arguments: --backfil"),
        (["--event", "10"], "unrecognized arguments: --event"),
    ],
)
def test_bad_flags_give_one_line_and_exit_2(args, message, tmp_path):
    result = simulate(*args, "--home", str(tmp_path))
    assert result.returncode == 2
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_snowflake_settings_name_what_is_missing(tmp_path):
    result = simulate(
        "--target",
        "snowflake",
        "--events",
        "1",
        "--home",
        str(tmp_path),
        SNOWFLAKE_ACCOUNT="",
        SNOWFLAKE_USER="someone",
        SNOWFLAKE_PASSWORD="",
        SNOWFLAKE_PRIVATE_KEY_PATH="",
    )
    assert result.returncode == 1
    assert result.stderr.strip() == (
        "error: missing Snowflake setting(s): SNOWFLAKE_ACCOUNT, "
        "SNOWFLAKE_PASSWORD or SNOWFLAKE_PRIVATE_KEY_PATH (see profiles.example.yml)"
    )


def test_unusable_home_is_a_one_line_error(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    result = simulate("--events", "1", "--home", str(blocker / "home"))
    assert result.returncode == 1
    assert result.stderr.startswith("error: cannot use ")
    assert "Traceback" not in result.stderr


def test_pipeline_script_drains_a_stage_filled_by_another_producer(tmp_path):
    """scripts/pipeline.py alone: a producer (here, this process) fills the stage,
    the loop loads, transforms and publishes it all, and reconcile agrees."""
    import duckdb
    from conftest import line_net_revenue, staged_order_lines

    from snowcart.sources.generator import ShopGenerator
    from snowcart.sources.producer import Producer
    from snowcart.stages.local import LocalStage

    producer = Producer(
        ShopGenerator(seed=5), LocalStage(tmp_path / "stage"), tmp_path / "ledger.ndjson",
        tmp_path / "producer.json",
    )  # fmt: skip
    producer.run(4000, 0, stop=threading.Event())
    staged_events = sum(
        1 for path in (tmp_path / "stage").rglob("*.ndjson") for _ in path.open(encoding="utf-8")
    )
    result = run([sys.executable, "scripts/pipeline.py", "--drain"], home=tmp_path)
    assert result.returncode == 0, result.stderr[-2000:]
    assert f"{staged_events:,} rows loaded" in result.stdout

    lines = staged_order_lines(tmp_path / "stage")
    with duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True) as con:
        (served_revenue,) = con.execute(
            "select sum(booked_revenue) from analytics.rpt_sales_per_minute"
        ).fetchone()
    assert lines and served_revenue == sum(line_net_revenue(line) for line in lines)
    reconciled = run([sys.executable, "scripts/reconcile.py"], home=tmp_path)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr


def test_pipeline_script_bad_target_is_one_line(tmp_path):
    result = run([sys.executable, "scripts/pipeline.py", "--target", "nope"], home=tmp_path)
    assert result.returncode == 2
    assert "--target: invalid choice" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_a_reader_that_goes_away_never_stops_the_drain(tmp_path):
    """`simulate.py | tee log`, then Ctrl-C: the reader (tee) is gone before the
    simulation hears the signal. The drain must still run to its end, and
    reconcile must agree with the ledger."""
    import os
    import signal
    import subprocess

    from conftest import PROJECT_DIR

    env = {
        **os.environ,
        "SNOWCART_HOME": str(tmp_path),
        "DBT_TARGET_PATH": str(tmp_path / "target"),
    }
    env.pop("SNOWCART_TARGET", None)
    process = subprocess.Popen(
        [sys.executable, "scripts/simulate.py", "--rate", "200", "--home", str(tmp_path)],
        cwd=PROJECT_DIR, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    try:
        # Observable progress: status lines come once the loop is streaming.
        while not process.stdout.readline().startswith(b"[snowcart pipeline] state=streaming"):
            assert process.poll() is None, process.stderr.read().decode()[-3000:]
        process.stdout.close()  # the reader goes away ...
        process.send_signal(signal.SIGINT)  # ... then Ctrl-C reaches the simulation
        returncode = process.wait(timeout=600)
    finally:
        if process.poll() is None:
            process.kill()
    errors = process.stderr.read().decode()
    assert returncode == 0, errors[-3000:]
    assert "Traceback" not in errors and "draining" in errors
    reconciled = run([sys.executable, "scripts/reconcile.py"], home=tmp_path)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr
