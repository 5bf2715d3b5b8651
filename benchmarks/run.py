#!/usr/bin/env python
"""Run the Snowcart benchmarks and write the report (docs/benchmarks.md).

    python -m benchmarks.run            # full sizes (make bench), ~49 min on 2 cores
    python -m benchmarks.run --quick    # small sizes (make bench-quick), 412 s in the last CI run
    python -m benchmarks.run --smoke    # one run of each section at the smallest sizes (the suite)

Every figure is min/median/max over >= 3 runs; medians are compared with the
DESIGN.md §5 targets and each MISS is profiled. The smoke mode only proves that
every section runs and the report is whole: its single runs are not figures.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from benchmarks import (
    bench_build,
    bench_e2e,
    bench_freshness,
    bench_generator,
    bench_ingest,
    bench_pr_check,
    bench_s3,
    bench_scaling,
)
from benchmarks.common import PROJECT_DIR, Section, isolate_dbt, log, scratch_dir
from benchmarks.machine import LoadWatch, machine_facts
from benchmarks.report import RunInfo, markdown, print_console

MIN_RUNS = 3


@dataclass(frozen=True)
class Plan:
    generator: bench_generator.GeneratorConfig
    ingest: bench_ingest.IngestConfig
    e2e: bench_e2e.EndToEndConfig
    freshness: bench_freshness.FreshnessConfig
    scaling: bench_scaling.ScalingConfig
    build: bench_build.BuildConfig
    pr_check: bench_pr_check.PrCheckConfig
    s3: bench_s3.S3Config

    def with_runs(self, runs: int) -> Plan:
        return Plan(
            replace(self.generator, runs=runs),
            replace(self.ingest, runs=runs),
            replace(self.e2e, runs=runs),
            replace(self.freshness, runs=runs),
            replace(self.scaling, runs=runs),
            replace(self.build, runs=runs),
            replace(self.pr_check, runs=runs),
            replace(self.s3, runs=runs),
        )


FULL = Plan(
    generator=bench_generator.GeneratorConfig(batches=10, events_per_batch=20_000, runs=5),
    ingest=bench_ingest.IngestConfig(batches=10, events_per_batch=20_000, runs=5, row_events=5_000),
    e2e=bench_e2e.EndToEndConfig(events=200_000, runs=3),
    freshness=bench_freshness.FreshnessConfig(rates=(1_000, 10_000, 50_000), seconds=120, runs=3),
    scaling=bench_scaling.ScalingConfig(
        history_lines=(1_000_000, 10_000_000), delta_lines=10_000, runs=3
    ),
    build=bench_build.BuildConfig(orders=1_000_000, runs=3),
    pr_check=bench_pr_check.PrCheckConfig(runs=3),
    s3=bench_s3.S3Config(
        batches=10, events_per_batch=20_000, rates=(1_000, 10_000), seconds=30, runs=3
    ),
)
QUICK = Plan(
    generator=bench_generator.GeneratorConfig(batches=2, events_per_batch=10_000, runs=3),
    ingest=bench_ingest.IngestConfig(batches=4, events_per_batch=10_000, runs=3, row_events=500),
    e2e=bench_e2e.EndToEndConfig(events=3_000, runs=3),
    freshness=bench_freshness.FreshnessConfig(rates=(1_000,), seconds=5, runs=3),
    scaling=bench_scaling.ScalingConfig(history_lines=(10_000, 100_000), delta_lines=1_000, runs=3),
    build=bench_build.BuildConfig(orders=5_000, runs=3),
    pr_check=bench_pr_check.PrCheckConfig(runs=3),
    s3=bench_s3.S3Config(batches=2, events_per_batch=10_000, rates=(1_000,), seconds=10, runs=3),
)
# What the test suite runs: every section once, as small as it still works. A
# simulation costs ~20 s at any size, so section 3 simulates the 5,000 events that
# sections 5 and 6 start from and leaves its home to them (copied), instead of one
# simulation each; freshness samples 2 s from 2 s after the first publication
# showing an order (observed: a busy machine publishes before any order); the
# cold pr-check stops after the selection (`--list-only`): the warm one builds;
# and pr-check (own clone, own processes) runs beside sections 1-6, not after them.
SMOKE = Plan(
    generator=bench_generator.GeneratorConfig(batches=2, events_per_batch=2_000, runs=1),
    ingest=bench_ingest.IngestConfig(batches=2, events_per_batch=2_000, runs=1, row_events=200),
    e2e=bench_e2e.EndToEndConfig(
        events=bench_scaling.SIMULATION_EVENTS, runs=1, share_simulation=True
    ),
    freshness=bench_freshness.FreshnessConfig(rates=(1_000,), seconds=2, runs=1, settle_s=2),
    scaling=bench_scaling.ScalingConfig(
        history_lines=(3_000, 30_000), delta_lines=300, runs=1, share_simulation=True
    ),
    build=bench_build.BuildConfig(orders=1_000, runs=1, share_simulation=True),
    pr_check=bench_pr_check.PrCheckConfig(runs=1, cold_list_only=True, beside_others=True),
    s3=bench_s3.S3Config(
        batches=2, events_per_batch=2_000, rates=(1_000,), seconds=2, runs=1, settle_s=2
    ),
)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="small sizes, still >= 3 runs")
    mode.add_argument(
        "--smoke",
        action="store_true",
        help="one run of each section at the smallest sizes: checks the harness, measures nothing",
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=None,
        help="Markdown report path (default: docs/benchmarks.md; with --quick or --smoke: "
        "artifacts/benchmarks-quick.md or -smoke.md, so they never replace the full figures)",
    )
    parser.add_argument(
        "--runs", type=int, default=None, help=f"runs per figure (>= {MIN_RUNS}; default per mode)"
    )
    args = parser.parse_args(argv)
    if args.runs is not None and args.smoke:
        parser.error("--smoke runs each section once; --runs is for the measuring modes")
    if args.runs is not None and args.runs < MIN_RUNS:
        parser.error(f"--runs must be >= {MIN_RUNS}")
    return args


def command_line(argv: list[str]) -> str:
    return " ".join(["python", "-m", "benchmarks.run", *argv])


def make_target(argv: list[str]) -> str | None:
    """`make bench` / `make bench-quick` when run by make (which sets MAKELEVEL)."""
    if os.environ.get("MAKELEVEL") and argv in ([], ["--quick"]):
        return "make bench-quick" if argv else "make bench"
    return None


def watched(measure: Callable[[], Section]) -> Section:
    """Run one section and record how much CPU other processes took meanwhile."""
    watch = LoadWatch.start()
    section = measure()
    watch.stop()
    if watch.others_share is not None:
        section.method.append(
            f"Other processes used {watch.others_share:.1%} of the machine's CPU capacity "
            f"while this section ran ({watch.wall_s:,.0f} s)."
        )
    return section


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    plan = SMOKE if args.smoke else QUICK if args.quick else FULL
    if args.runs is not None:
        plan = plan.with_runs(args.runs)
    default_output = (
        "artifacts/benchmarks-smoke.md"
        if args.smoke
        else "artifacts/benchmarks-quick.md"
        if args.quick
        else "docs/benchmarks.md"
    )
    output = args.output or PROJECT_DIR / default_output
    watch = LoadWatch.start()
    sections: list[Section] = []
    with scratch_dir("run") as workdir, ThreadPoolExecutor(max_workers=1) as beside:
        isolate_dbt(workdir)
        pr_check: Future[Section] | None = None
        if plan.pr_check.beside_others:
            log("7/8 slim CI: make pr-check, beside sections 1-6")
            # The sections change os.environ as they go: the copy is taken now.
            environ = dict(os.environ)
            pr_check = beside.submit(
                watched, lambda: bench_pr_check.run(plan.pr_check, workdir, environ)
            )
        log("1/8 generator")
        sections.append(watched(lambda: bench_generator.run(plan.generator)))
        log("2/8 ingest stage → raw")
        sections.append(watched(lambda: bench_ingest.run(plan.ingest, workdir)))
        log("3/8 end-to-end slice")
        sections.append(watched(lambda: bench_e2e.run(plan.e2e, workdir)))
        log("4/8 freshness")
        sections.append(watched(lambda: bench_freshness.run(plan.freshness, workdir)))
        log("5/8 scaling")
        sections.append(watched(lambda: bench_scaling.run(plan.scaling, workdir)))
        log("6/8 full build at size")
        sections.append(watched(lambda: bench_build.run(plan.build, workdir)))
        if pr_check is None:
            log("7/8 slim CI: make pr-check")
            sections.append(watched(lambda: bench_pr_check.run(plan.pr_check, workdir)))
        else:
            sections.append(pr_check.result())  # raises what the section raised
        log("8/8 S3 stage (moto)")
        sections.append(watched(lambda: bench_s3.run(plan.s3, workdir)))
    watch.stop()
    runs = sorted(
        {
            plan.generator.runs,
            plan.ingest.runs,
            plan.e2e.runs,
            plan.freshness.runs,
            plan.scaling.runs,
            plan.build.runs,
            plan.pr_check.runs,
            plan.s3.runs,
        }
    )
    info = RunInfo(
        command=command_line(sys.argv[1:] if argv is None else argv),
        make_target=make_target(sys.argv[1:] if argv is None else argv),
        mode=(
            "smoke mode: one run of each section at the smallest sizes, a check that "
            "the harness works; these single runs are not measurements"
            + (
                "; section 7 ran beside sections 1-6, whose load figures count its "
                "processes as other processes"
                if plan.pr_check.beside_others
                else ""
            )
            if args.smoke
            else "quick mode: small inputs"
            if args.quick
            else "full sizes"
        ),
        runs_note=" or ".join(map(str, runs))
        + (" run" if runs == [1] else " runs")
        + " (the run count is given per section)",
        facts=machine_facts(),
        watch=watch,
    )
    print_console(info, sections)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(markdown(info, sections), encoding="utf-8")
    log(f"report written to {output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
