"""The suite's xdist groups hold: tests sharing a module-scoped fixture run on
one worker, which builds the fixture once (a pytest or xdist upgrade that
breaks this would double the suite's most expensive setups, silently)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

TESTS = """
import os, time, pytest

@pytest.fixture(scope="module")
def home(tmp_path_factory):
    with open(os.environ["SETUPS"], "a") as log:
        log.write(os.environ.get("PYTEST_XDIST_WORKER", "none") + "\\n")
    return 1

def test_one(home): time.sleep(0.3)
def test_two(home): time.sleep(0.3)
def test_three(home): time.sleep(0.3)
def test_alone(): time.sleep(0.3)
"""


def test_tests_sharing_a_module_fixture_run_on_one_worker(tmp_path: Path) -> None:
    (tmp_path / "test_shared.py").write_text(TESTS)
    (tmp_path / "test_other.py").write_text(
        "import time\n" + "".join(f"def test_{n}(): time.sleep(0.3)\n" for n in range(4))
    )
    (tmp_path / "conftest.py").write_text(
        "from xdist_groups import pytest_collection_modifyitems\n"
    )
    setups = tmp_path / "setups.log"
    env = {**os.environ, "SETUPS": str(setups), "PYTHONPATH": str(Path(__file__).parent)}
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "2", "--dist", "loadgroup",
         "-p", "no:cacheprovider", "-c", os.devnull, "--rootdir", str(tmp_path), str(tmp_path)],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "8 passed" in result.stdout
    assert len(setups.read_text().split()) == 1, setups.read_text()
