"""5. Scaling: does a refresh cost grow with new data or with history?

A warehouse gets H order lines of history (a small real simulation for the
customers, products and everything else, then H synthetic order lines landed in
raw.orders as one load and built), then a delta of the same 10,000 order lines
is landed and staged, and the incremental run of `fct_sales` is timed.
The same at H = 1M and H = 10M gives the ratio; a full rebuild of `fct_sales`
at the larger size is timed against its incremental refresh."""

from __future__ import annotations

import shutil
import statistics
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import duckdb

from benchmarks.common import PROJECT_DIR, Figure, Section, log, ratios, timed
from snowcart.engines.dbt_runner import Dbt
from snowcart.settings import Settings

LINES_PER_ORDER = 3
SIMULATION_EVENTS = 5_000
# Smoke mode: the one simulated home sections 5 and 6 start from (copied), in the
# run's scratch folder; section 3's run leaves it there when it simulates the same.
SHARED_HOME = "simulated-home"
TRANSFORM = (
    "build", "--select", "base_shop__orders+", "base_shop__order_lines+",
    "--exclude", "config.materialized:dynamic_table", "config.materialized:view",
    "--exclude-resource-type", "test", "unit_test",
)  # fmt: skip


@dataclass(frozen=True)
class ScalingConfig:
    history_lines: tuple[int, int]
    delta_lines: int
    runs: int
    # Smoke mode: start from a copy of one shared simulation (SHARED_HOME) instead
    # of a simulation of its own.
    share_simulation: bool = False


def land_orders(con: duckdb.DuckDBPyConnection, prefix: str, lines: int, days: int) -> None:
    """`lines` order lines (3 per order) as order_placed events in raw.orders, one
    load, ordered over the last `days` days, for the simulation's customers and
    products."""
    orders = lines // LINES_PER_ORDER
    con.execute(
        f"""
        insert into raw.orders (payload, _file_name, _file_row_number, _loaded_at)
        select
            to_json({{
                'event_id': '{prefix}E' || i,
                'event_type': 'order_placed',
                'event_at': strftime(placed_at, '%Y-%m-%dT%H:%M:%S'),
                'order_id': '{prefix}O' || i,
                'customer_id': 'C' || lpad(cast(i % 1000 + 1 as varchar), 6, '0'),
                'channel': 'web',
                'currency': 'USD',
                'ship_country': 'DE',
                'ordered_at': strftime(placed_at, '%Y-%m-%dT%H:%M:%S'),
                'lines': [
                    {{'line_number': n, 'product_id':
                        'P' || lpad(cast((i * 7 + n) % 200 + 1 as varchar), 5, '0'),
                      'quantity': 1 + (i + n) % 3, 'unit_price': 9.99, 'discount_amount': 0.0}}
                    for n in [1, 2, 3]
                ]
            }}),
            'synthetic/{prefix}.ndjson',
            i + 1,
            current_localtimestamp()
        from (
            select i, current_localtimestamp() - to_seconds(
                cast(({orders} - i) * ({days} * 86400.0 / {orders}) as bigint)
            ) as placed_at
            from range({orders}) as t (i)
        )
        """
    )


def simulated_home(home: Path, shared: Path | None = None) -> Settings:
    """A home after a 5,000-event simulation: customers, products and every table.
    With `shared` (smoke mode), a copy of the simulated home kept there, simulated
    on first use: one simulation for every section that needs one."""
    if shared is None:
        simulate(home)
    else:
        if not shared.exists():
            simulate(shared)
        shutil.copytree(shared, home)
    settings = Settings(target="dev", home=home)
    settings.prepare()
    return settings


def simulate(home: Path) -> None:
    result = subprocess.run(
        [sys.executable, "scripts/simulate.py", "--events", str(SIMULATION_EVENTS), "--rate",
         "0", "--home", str(home)],
        cwd=PROJECT_DIR, capture_output=True, text=True, timeout=1800, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise RuntimeError(f"simulate.py failed:\n{result.stderr[-2000:]}")


def shared_home(workdir: Path, share: bool) -> Path | None:
    return workdir / SHARED_HOME if share else None


def add_history(settings: Settings, prefix: str, lines: int) -> None:
    """Land `lines` order lines over the past year and build them (untimed)."""
    with duckdb.connect(str(settings.warehouse_path)) as con:
        land_orders(con, prefix, lines, days=365)
    seconds, _ = timed(lambda: Dbt(settings).invoke(*TRANSFORM))
    log(f"{lines:,} lines of history built in {seconds:.1f} s")


def fct_sales_lines(settings: Settings) -> int:
    # dbt-duckdb keeps this file open in-process: connect with the same settings.
    with duckdb.connect(str(settings.warehouse_path)) as con:
        return con.execute("select count(*) from analytics.fct_sales").fetchone()[0]


def incremental_runs(settings: Settings, config: ScalingConfig, prefix: str) -> list[float]:
    """Per delta: land it, stage it (untimed), then time fct_sales' incremental run."""
    seconds = []
    dbt = Dbt(settings)
    for index in range(config.runs):
        with duckdb.connect(str(settings.warehouse_path)) as con:
            land_orders(con, f"{prefix}{index}_", config.delta_lines, days=0)
        dbt.invoke("run", "--select", "base_shop__orders", "base_shop__order_lines")
        elapsed, _ = timed(lambda: dbt.invoke("run", "--select", "fct_sales"))
        seconds.append(elapsed)
    return seconds


def run(config: ScalingConfig, workdir: Path) -> Section:
    """One warehouse, grown: the small history, its deltas, then more history up
    to the large size (older orders, as history is), and the same deltas again."""
    small, large = config.history_lines
    timings: dict[int, list[float]] = {}
    sizes: dict[int, int] = {}
    full_rebuilds: list[float] = []
    settings = simulated_home(workdir / "scaling", shared_home(workdir, config.share_simulation))
    for history, prefix, lines in ((small, "H", small), (large, "G", large - small)):
        add_history(settings, prefix, lines)
        sizes[history] = fct_sales_lines(settings)
        timings[history] = incremental_runs(settings, config, f"{prefix}D")
        log(
            f"delta of {config.delta_lines:,} lines on {sizes[history]:,}: "
            f"median {statistics.median(timings[history]):.2f} s"
        )
    dbt = Dbt(settings)
    for _ in range(config.runs):
        elapsed, _ = timed(lambda: dbt.invoke("run", "--full-refresh", "--select", "fct_sales"))
        full_rebuilds.append(elapsed)
    return Section(
        title="5. Scaling (history vs delta)",
        method=[
            f"One warehouse: a {SIMULATION_EVENTS:,}-event simulation"
            + (" (the run's shared one, copied)" if config.share_simulation else "")
            + f", then {small:,} synthetic order lines "
            "of history over 365 days landed in `raw.orders` and built; later grown to "
            f"{large:,} lines the same way. At each size, {config.runs} times: land "
            f"{config.delta_lines:,} new order lines, stage them "
            "(untimed), and time `dbt run --select fct_sales` (the incremental merge: "
            "find the touched orders, point-in-time joins, merge). Rows in `fct_sales` "
            f"before the deltas: {sizes[small]:,} and {sizes[large]:,}. Each time includes "
            "dbt's own per-invocation overhead (parsing is partial, ~1 s).",
            f"Full rebuild: `dbt run --full-refresh --select fct_sales` on the {large:,}-line "
            f"warehouse, {config.runs} times.",
        ],
        figures=[
            Figure(
                f"fct_sales incremental, {config.delta_lines:,}-line delta on {small:,} lines",
                "s",
                timings[small],
                digits=2,
            ),
            Figure(
                f"fct_sales incremental, {config.delta_lines:,}-line delta on {large:,} lines",
                "s",
                timings[large],
                digits=2,
            ),
            Figure(
                f"ratio {large:,} / {small:,} (run by run)",
                "×",
                ratios(timings[large], timings[small]),
                digits=2,
                target="≤ 1.5×",
                threshold=1.5,
                lower_is_better=True,
            ),
            Figure(f"full rebuild of fct_sales at {large:,} lines", "s", full_rebuilds, digits=2),
            Figure(
                "full rebuild / incremental refresh (run by run)",
                "×",
                ratios(full_rebuilds, timings[large]),
                digits=1,
            ),
        ],  # fmt: skip
    )
