"""6. Full build at size: `dbt build --full-refresh` (every model, snapshot, mart
and test, as CI runs it) on a warehouse holding N orders, and the pipeline's own
process (`scripts/pipeline.py --drain`: it loads what is staged, then one full
build with every test) on the same data: wall time and peak memory."""

from __future__ import annotations

import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from benchmarks.bench_scaling import (
    LINES_PER_ORDER,
    SIMULATION_EVENTS,
    land_orders,
    shared_home,
    simulated_home,
)
from benchmarks.common import PROJECT_DIR, Figure, Section, log, peak_rss_run
from snowcart.settings import Settings


@dataclass(frozen=True)
class BuildConfig:
    orders: int
    runs: int
    # Smoke mode: start from a copy of the run's one shared simulation (bench_scaling).
    share_simulation: bool = False


def prepared_home(home: Path, orders: int, shared: Path | None = None) -> Path:
    """A 5,000-event simulation (customers, products, every other table), then
    `orders` synthetic orders over a year landed in raw.orders, not yet built.
    With `shared`, the simulation is a copy of the one kept there."""
    settings = simulated_home(home, shared)
    with duckdb.connect(str(settings.warehouse_path)) as con:
        land_orders(con, "B", orders * LINES_PER_ORDER, days=365)
    return home


def measured(command: list[str], home: Path, what: str) -> tuple[float, float]:
    seconds, peak_mib, result = peak_rss_run(command, env={"SNOWCART_HOME": str(home)})
    if result.returncode != 0:
        raise RuntimeError(f"{what} failed:\n{result.stdout[-1500:]}\n{result.stderr[-1500:]}")
    return seconds, peak_mib


def run(config: BuildConfig, workdir: Path) -> Section:
    template = prepared_home(
        workdir / "build-template", config.orders, shared_home(workdir, config.share_simulation)
    )
    dbt_bin = str(Path(sys.executable).parent / "dbt")
    pipeline_s, pipeline_mib, build_s, build_mib, orders_built = [], [], [], [], []
    for index in range(config.runs):
        home = workdir / f"build-{index}"
        shutil.copytree(template, home)
        seconds, mib = measured(
            [sys.executable, "scripts/pipeline.py", "--drain", "--home", str(home)],
            home, "pipeline.py --drain",
        )  # fmt: skip
        pipeline_s.append(seconds)
        pipeline_mib.append(mib)
        seconds, mib = measured(
            [dbt_bin, "build", "--full-refresh", "--project-dir", str(PROJECT_DIR),
             "--profiles-dir", str(PROJECT_DIR), "--target", "dev"],
            home, "dbt build --full-refresh",
        )  # fmt: skip
        build_s.append(seconds)
        build_mib.append(mib)
        with duckdb.connect(str(Settings("dev", home).warehouse_path), read_only=True) as con:
            (count,) = con.execute(
                "select count(distinct order_id) from analytics.fct_sales"
            ).fetchone()
        orders_built.append(count)
        shutil.rmtree(home, ignore_errors=True)
        log(
            f"build at {config.orders:,} orders, run {index + 1}/{config.runs}: pipeline "
            f"{pipeline_s[-1]:.1f} s / {pipeline_mib[-1]:,.0f} MiB, dbt build --full-refresh "
            f"{build_s[-1]:.1f} s / {build_mib[-1]:,.0f} MiB"
        )
    return Section(
        title="6. Full build at size",
        method=[
            f"A warehouse with a {SIMULATION_EVENTS:,}-event simulation"
            + (" (the run's shared one, copied)" if config.share_simulation else "")
            + f", then {config.orders:,} synthetic orders "
            f"({config.orders * LINES_PER_ORDER:,} order lines over 365 days) landed in "
            "`raw.orders`, copied fresh for each of "
            f"{config.runs} runs. Orders in `fct_sales` after each run: "
            f"{', '.join(f'{n:,}' for n in orders_built)}.",
            "Pipeline: `python scripts/pipeline.py --drain` (it loads what is staged, then "
            "one full `dbt build` with every test reads the streams), its own "
            "process. Then `dbt build --full-refresh` from the command line (every model, "
            "snapshot, mart, data and unit test rebuilt from the landing tables, as CI "
            "runs it). Peak memory is the process's maximum resident set "
            "(`getrusage`, in a wrapper process per command).",
        ],
        figures=[
            Figure(f"pipeline.py --drain at {config.orders:,} orders", "s", pipeline_s, digits=1),
            Figure("peak memory of the pipeline process", "MiB", pipeline_mib),
            Figure(f"dbt build --full-refresh at {config.orders:,} orders", "s", build_s, digits=1),
            Figure("peak memory of dbt build", "MiB", build_mib),
        ],
    )
