"""1. Generator: events/s of the project's generator producing NDJSON lines.

An event is one line of a stage file, of any shop table; the generator is
`ShopGenerator`, each batch continuing from the state the last one left."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial

from benchmarks.common import Figure, Section, log, timed
from benchmarks.profiling import hotspots, profile_call
from snowcart.sources.generator import ShopGenerator

TARGET_EVENTS_PER_S = 200_000
WINDOW_START = datetime(2024, 1, 1)
# One hour of shop time per batch: long enough that order lifecycles (status changes,
# payments, stock movements) are in the mix, not only new orders and web sessions.
WINDOW = timedelta(hours=1)


@dataclass(frozen=True)
class GeneratorConfig:
    batches: int
    events_per_batch: int
    runs: int


def new_generator(seed: int = 42) -> ShopGenerator:
    """A fresh generator (reference data built here, outside any timing)."""
    return ShopGenerator(seed=seed)


def generator_name() -> str:
    return "ShopGenerator.batch"


def batch_tables(generator: ShopGenerator, number: int, events: int) -> dict[str, list[str]]:
    """Batch `number` of about `events` lines, by landing table. Batch n covers the
    n-th WINDOW after WINDOW_START, so consecutive batches continue in time."""
    start = WINDOW_START + number * WINDOW
    return generator.batch(number, events, start, start + WINDOW).lines_by_table


def generate(generator: ShopGenerator, config: GeneratorConfig) -> int:
    """Generate one run's batches; returns the number of events (stage lines)."""
    return sum(
        len(lines)
        for number in range(config.batches)
        for lines in batch_tables(generator, number, config.events_per_batch).values()
    )


def describe_mix(counts: dict[str, int]) -> str:
    """Share of events per table, largest first."""
    total = sum(counts.values()) or 1
    ordered = sorted(counts.items(), key=lambda item: -item[1])
    return ", ".join(f"{table} {count / total:.0%}" for table, count in ordered if count)


def output_mix(config: GeneratorConfig) -> tuple[dict[str, int], int]:
    """Lines per table and total bytes of one run's output."""
    generator, counts, size = new_generator(), {}, 0
    for number in range(config.batches):
        for table, lines in batch_tables(generator, number, config.events_per_batch).items():
            counts[table] = counts.get(table, 0) + len(lines)
            size += sum(len(line) + 1 for line in lines)
    return counts, size


def run(config: GeneratorConfig) -> Section:
    rates = []
    for index in range(config.runs):
        generator = new_generator()
        seconds, events = timed(partial(generate, generator, config))
        rates.append(events / seconds)
        log(f"generator run {index + 1}/{config.runs}: {events / seconds:,.0f} events/s")
    counts, total_bytes = output_mix(config)
    bytes_per_event = total_bytes / max(sum(counts.values()), 1)
    name = generator_name()
    throughput = Figure(
        f"`{name}` → JSON lines",
        "events/s",
        rates,
        target=f"≥ {TARGET_EVENTS_PER_S:,} events/s",
        threshold=TARGET_EVENTS_PER_S,
    )
    section = Section(
        title="1. Generator",
        method=[
            f"{config.runs} runs, each with a fresh generator (reference data built before "
            f"timing): {config.batches} consecutive batches of "
            f"{config.events_per_batch:,} events, each covering "
            f"{WINDOW.total_seconds() / 3600:g} h of shop time.",
            f"An event is one stage-file line. Timed: `{name}` only (no file writes).",
            f"A run's events by table: {describe_mix(counts)}; an event averages "
            f"{bytes_per_event:,.0f} bytes of JSON (counted in one more, untimed run).",
        ],
        figures=[
            throughput,
            Figure(
                "MB of NDJSON per second",
                "MB/s",
                [r * bytes_per_event / 1e6 for r in rates],
                digits=1,
            ),
        ],
    )
    if throughput.verdict == "MISS":
        one_batch = GeneratorConfig(batches=1, events_per_batch=config.events_per_batch, runs=1)
        profiled, counted = new_generator(), new_generator()
        profiler, text = profile_call(lambda: generate(profiled, one_batch))
        section.profiles.append(
            (f"{profiler}: one batch of {config.events_per_batch:,} events", text)
        )
        top = ", ".join(
            f"`{fn}` {share:.0%}" for fn, share in hotspots(lambda: generate(counted, one_batch))
        )
        section.notes.append(
            f"MISS: the median is {throughput.median / TARGET_EVENTS_PER_S:.0%} of the target "
            f"({throughput.show(throughput.median)} vs {TARGET_EVENTS_PER_S:,} events/s). "
            f"Self time by function (cProfile): {top}."
        )
    return section
