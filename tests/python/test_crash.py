"""Exactly-once under crashes: SIGKILL the pipeline at random points while it
streams, restart it each time, drain, and reconcile every count."""

import os
import random
import signal
import subprocess
import sys
import time

import duckdb
from conftest import PROJECT_DIR, run, staged_order_lines

TRIALS = int(os.environ.get("SNOWCART_CRASH_TRIALS", "10"))


def test_sigkill_at_random_points_loses_and_duplicates_nothing(tmp_path):
    chooser = random.Random(20261123)
    env = {**os.environ, "SNOWCART_HOME": str(tmp_path)}
    for _ in range(TRIALS):
        pipeline = subprocess.Popen(
            [sys.executable, "scripts/simulate.py", "--rate", "3000", "--seed", "11"],
            cwd=PROJECT_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Startup (dbt parse, setup) takes a few seconds: some kills land there,
        # most during loads and builds.
        time.sleep(chooser.uniform(1.0, 9.0))
        pipeline.send_signal(signal.SIGKILL)
        pipeline.wait()

    drained = run([sys.executable, "scripts/simulate.py", "--events", "0"], home=tmp_path)
    assert drained.returncode == 0, drained.stderr
    reconciled = run([sys.executable, "scripts/reconcile.py"], home=tmp_path)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr

    # Independently of the pipe's bookkeeping: every order line in the stage
    # files is in fct_sales exactly once.
    lines = staged_order_lines(tmp_path / "stage")
    assert lines, "the trials produced nothing; the test proves nothing"
    with duckdb.connect(str(tmp_path / "warehouse.duckdb"), read_only=True) as con:
        (rows, distinct_ids) = con.execute(
            "select count(*), count(distinct order_line_id) from analytics.fct_sales"
        ).fetchone()
        (raw_rows,) = con.execute("select count(*) from raw.orders").fetchone()
    assert rows == distinct_ids == len(lines)
    staged_events = sum(
        1 for path in (tmp_path / "stage" / "orders").glob("*.ndjson") for _ in path.open()
    )
    assert raw_rows == staged_events
