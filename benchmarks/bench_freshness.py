"""4. Freshness: how old the newest order visible in `rpt_sales_per_minute` is,
read through the serving layer, while `scripts/simulate.py` streams at a
sustained rate. A reader in this process opens the served file every 200 ms, as
the dashboard does, and records now − max(newest_ordered_at): the age of what a
reader sees, from event creation (the generator stamps events with the time it
emits them) through stage, pipe, transform, mart refresh and publication."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from benchmarks.common import PROJECT_DIR, Figure, Section, log
from benchmarks.profiling import profile_call

SETTLE_S = 5.0  # after the first publication showing an order, before sampling starts
POLL_S = 0.2
TARGET_RATE = 10_000


@dataclass(frozen=True)
class FreshnessConfig:
    rates: tuple[int, ...]
    seconds: float
    runs: int
    settle_s: float = SETTLE_S


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1))))
    return ordered[rank]


def newest_order(serving: Path) -> datetime | None:
    """The newest order the published live mart shows (None: none yet)."""
    with duckdb.connect(str(serving), read_only=True) as reader:
        (newest,) = reader.execute(
            "select max(newest_ordered_at) from analytics.rpt_sales_per_minute"
        ).fetchone()
    return newest


def sample_run(home: Path, rate: int, seconds: float, settle_s: float = SETTLE_S) -> list[float]:
    """Lag samples (s) over `seconds` of sustained streaming, from `settle_s` after
    the first publication that shows an order (the initial build comes before it)."""
    events = int(rate * (120 + seconds))
    command = [
        sys.executable, "scripts/simulate.py", "--events", str(events), "--rate", str(rate),
        "--home", str(home),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    serving = home / "serving.duckdb"
    samples: list[float] = []
    try:
        sampling_from = None
        while sampling_from is None or time.monotonic() - sampling_from < seconds:
            if process.poll() is not None:
                raise RuntimeError(f"simulate.py stopped early:\n{process.stderr.read()[-2000:]}")
            # Sampling starts `settle_s` after the first publication that shows
            # an order (observed, not a guessed delay: on a busy machine the
            # first publications may come before any order is built).
            newest = newest_order(serving) if serving.exists() else None
            if sampling_from is None and newest is not None:
                sampling_from = time.monotonic() + settle_s
            if sampling_from is not None and time.monotonic() >= sampling_from and newest:
                now = datetime.now(UTC).replace(tzinfo=None)
                samples.append((now - newest).total_seconds())
            time.sleep(POLL_S)
    finally:
        process.kill()
        process.wait()
    if not samples:
        raise RuntimeError(f"no publication seen at {rate:,} events/s")
    return samples


def job_summary(homes: list[Path]) -> str:
    """The loop's own log (ops.refresh_log) over the runs: how long each kind of
    dbt run took and how often it ran."""
    rows = []
    for home in homes:
        with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
            rows += con.execute("select job, duration_s from ops.refresh_log").fetchall()
    if not rows:
        return "(no refresh_log rows)"
    lines = [f"{'job':<10} {'runs':>5} {'median s':>9} {'p95 s':>7} {'max s':>7}"]
    for job in sorted({row[0] for row in rows}):
        durations = [row[1] for row in rows if row[0] == job]
        lines.append(
            f"{job:<10} {len(durations):5d} {statistics.median(durations):9.2f} "
            f"{percentile(durations, 95):7.2f} {max(durations):7.2f}"
        )
    return "\n".join(lines)


def profile_loop(home: Path, rate: int, seconds: float) -> tuple[str, str]:
    """The streaming loop in this process for `seconds` at `rate`, under the
    sampling profiler (the main thread: ingest, scheduling, dbt's own work;
    dbt's worker threads show as the main thread waiting on its queue)."""
    import threading

    from snowcart.engines import engine_for
    from snowcart.loop.pipeline import Pipeline
    from snowcart.loop.status import StatusBoard
    from snowcart.settings import Settings
    from snowcart.sources.generator import ShopGenerator
    from snowcart.sources.producer import Producer
    from snowcart.stages.local import LocalStage

    settings = Settings.resolve("dev", home)
    warehouse = engine_for(settings).open_warehouse()
    stop = threading.Event()
    try:
        warehouse.setup()
        producer = Producer(
            ShopGenerator(seed=7), LocalStage(settings.stage_dir), settings.ledger_path,
            settings.producer_state_path,
        )  # fmt: skip
        pipeline = Pipeline(warehouse, StatusBoard("bench", plain_every_s=1e9))
        pipeline.start()
        thread = threading.Thread(target=producer.run, args=(None, rate, stop), daemon=True)
        thread.start()
        time.sleep(SETTLE_S)

        def loop() -> None:
            until = time.monotonic() + seconds
            while time.monotonic() < until:
                if not pipeline.cycle().files:
                    stop.wait(POLL_S)

        return profile_call(loop)
    finally:
        stop.set()
        warehouse.close()


def run(config: FreshnessConfig, workdir: Path) -> Section:
    figures: list[Figure] = []
    notes: list[str] = []
    profiles: list[tuple[str, str]] = []
    for rate in config.rates:
        p50, p95, p99, counts = [], [], [], []
        for index in range(config.runs):
            samples = sample_run(
                workdir / f"fresh-{rate}-{index}", rate, config.seconds, config.settle_s
            )
            p50.append(statistics.median(samples))
            p95.append(percentile(samples, 95))
            p99.append(percentile(samples, 99))
            counts.append(len(samples))
            log(
                f"freshness at {rate:,} events/s, run {index + 1}/{config.runs}: "
                f"p50 {p50[-1]:.2f} s, p95 {p95[-1]:.2f} s ({len(samples)} samples)"
            )
        target = rate == TARGET_RATE
        figures += [
            Figure(f"p50 lag at {rate:,} events/s", "s", p50, digits=2),
            Figure(
                f"p95 lag at {rate:,} events/s", "s", p95, digits=2,
                target="≤ 3 s" if target else "", threshold=3.0 if target else None,
                lower_is_better=True,
            ),
            Figure(f"p99 lag at {rate:,} events/s", "s", p99, digits=2),
        ]  # fmt: skip
        notes.append(f"{rate:,} events/s: {', '.join(map(str, counts))} samples per run.")
        if target and statistics.median(p95) > 3.0:
            log(f"freshness: profiling the loop at {rate:,} events/s (the target was missed)")
            homes = [workdir / f"fresh-{rate}-{index}" for index in range(config.runs)]
            seconds = min(config.seconds, 30.0)
            profiler, tree = profile_loop(workdir / f"fresh-{rate}-profile", rate, seconds)
            profiles.append(
                (
                    f"the loop at {rate:,} events/s",
                    "dbt runs of the loop, from ops.refresh_log of the runs above (transform: "
                    "the stale models and the marts riding along; marts: marts refreshed on "
                    "their own; tests: a slice of the data tests):\n"
                    + job_summary(homes)
                    + f"\n\n{profiler} call tree of {seconds:.0f} s of the loop in one process "
                    f"(main thread):\n{tree}",
                )
            )
    return Section(
        title="4. Freshness (event → serving layer)",
        method=[
            f"{config.runs} runs per rate of `python scripts/simulate.py --rate R --home <fresh "
            f"tmp>` (embedded target, target_lag 1 s), each sampled for {config.seconds:.0f} s of "
            f"sustained streaming, from {config.settle_s:.0f} s after the first publication showing an order (the "
            "initial full build comes before it). "
            "Every 200 ms a reader in the benchmark process opens `serving.duckdb` read-only and "
            "records now − max(newest_ordered_at) of `rpt_sales_per_minute`. The percentiles are "
            "per run; the table gives their min/median/max over the runs.",
            "The producer, the pipe, dbt and the reader share the machine's cores; the rates "
            "are what the producer is asked for; a lag that grows over the run means the loop "
            "does not keep up with that rate.",
        ],
        figures=figures,
        notes=notes,
        profiles=profiles,
    )
