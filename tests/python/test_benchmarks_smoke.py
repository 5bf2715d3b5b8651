"""Smoke test of the benchmark suite: `python -m benchmarks.run --smoke` (every section
once, at the smallest sizes) runs and writes a complete report. No timing assertions:
the figures depend on the machine, and single runs are not measurements."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[2]
SECTIONS = [
    "## Environment",
    "## Targets (DESIGN.md §5)",
    "## 1. Generator",
    "## 2. Ingest stage → raw",
    "## 3. End-to-end slice",
    "## 4. Freshness (event → serving layer)",
    "## 5. Scaling (history vs delta)",
    "## 6. Full build at size",
    "## 7. Slim CI: make pr-check",
    "## 8. S3 stage (moto on this machine)",
    "## Profiles",
]
NUMBER = r"\d[\d,]*(?:\.\d+)?"
FIGURE_ROW = rf"^\| .+? \| ({NUMBER}) \| ({NUMBER}) \| ({NUMBER}) \|"


def test_smoke_benchmark_writes_a_complete_report(tmp_path: Path) -> None:
    output = tmp_path / "benchmarks.md"
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.run", "--smoke", "--output", str(output)],
        cwd=PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    report = output.read_text(encoding="utf-8")
    for heading in SECTIONS:
        assert heading in report, f"missing section {heading!r}"
    # Every numbered section contributes figures; a figure row holds min | median | max.
    for heading in (heading for heading in SECTIONS if heading[3].isdigit()):
        body = report.split(f"\n{heading}\n", 1)[1].split("\n## ", 1)[0]
        assert re.search(FIGURE_ROW, body, re.M), f"no figures in {heading!r}:\n{body}"
    figure_rows = re.findall(FIGURE_ROW, report, re.M)
    assert len(figure_rows) >= 8, report
    for label in ("events/s", "MiB", "%"):
        assert f"| {label} |" in report, f"no figure in {label}"
    for target_row in ("≥ 200,000 events/s", "≥ 300,000 events/s", "≥ 50%"):
        assert re.search(
            rf"{re.escape(target_row)} \| {NUMBER}.* \| \*\*(PASS|MISS)\*\* \|", report
        )
    assert re.search(r"\| CPU \| \S", report) and "| DuckDB | " in report
