"""8. S3 stage (against moto on this machine): how long an object written to
the bucket takes to be visible in the serving layer while `simulate.py --stage
s3://…` streams at a sustained rate, and the S3 pipe's events/s beside the
local-folder pipe's on the same files.

Latency per object: from when the producer wrote an `orders/` object (its
ledger line appears: S3's LastModified has whole seconds only) until a reader,
polling the served `rpt_sales_per_minute` every 200 ms as the dashboard does,
sees it: the object is visible at the first poll whose newest order is at least the
newest order in that object (the generator stamps events when it emits them, so
orders are newer batch by batch)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from benchmarks.bench_freshness import POLL_S, newest_order, percentile
from benchmarks.bench_ingest import IngestConfig, StagedInput, pipe_run, write_stage_files
from benchmarks.common import PROJECT_DIR, Figure, Section, log, ratios, timed
from snowcart.devtools.local_servers import TEST_AWS_ENVIRONMENT, S3Bucket, moto_bucket
from snowcart.engines.duckdb.warehouse import DuckDBWarehouse
from snowcart.settings import Settings
from snowcart.stages.s3 import S3Location

SETTLE_S = 5.0  # after the first publication showing an order, before objects count
# After the sampled window: how long the objects written in it may take to show.
TAIL_S = 60.0
NOTICE_WAIT_S = 60.0
LEDGER_POLL_S = 0.02


@dataclass(frozen=True)
class S3Config:
    batches: int
    events_per_batch: int
    rates: tuple[int, ...]
    seconds: float
    runs: int
    settle_s: float = SETTLE_S


@contextmanager
def aws_test_credentials() -> Iterator[None]:
    """moto's test keys for boto3's standard chain, in this process and its children."""
    saved = {name: os.environ.get(name) for name in TEST_AWS_ENVIRONMENT}
    os.environ.update(TEST_AWS_ENVIRONMENT)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def wait_for_notices(bucket: S3Bucket, count: int) -> None:
    """Until the queue holds a notice per object written (observed)."""
    sqs = bucket.client("sqs")
    deadline = time.monotonic() + NOTICE_WAIT_S
    while True:
        attributes = sqs.get_queue_attributes(
            QueueUrl=bucket.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        if int(attributes["ApproximateNumberOfMessages"]) >= count:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"{count} notices expected in {bucket.queue_url}: {attributes}")
        time.sleep(0.1)


def s3_pipe_run(home: Path, staged: StagedInput, bucket: S3Bucket) -> float:
    """events/s of `warehouse.ingest()` with the stage in the bucket: notices
    received, objects downloaded into the stage folder, the pipe's load, notices
    deleted; until every event is loaded."""
    s3 = bucket.client()
    for table, paths in staged.files_by_table.items():
        for path in paths:
            s3.put_object(
                Bucket=bucket.bucket, Key=f"{bucket.prefix}{table}/{path.name}",
                Body=path.read_bytes(),
            )  # fmt: skip
    wait_for_notices(bucket, len(staged.files))
    settings = replace(
        Settings.resolve("dev", home),
        s3_stage=S3Location(bucket.url, bucket.endpoint_url),
        sqs_queue_url=bucket.queue_url,
    )
    warehouse = DuckDBWarehouse(settings)
    warehouse.setup()
    loaded, files = [0], [0]

    def ingest_all() -> None:
        deadline = time.monotonic() + 600
        while loaded[0] < staged.events and time.monotonic() < deadline:
            report = warehouse.ingest()
            loaded[0] += report.rows_loaded
            files[0] += report.files

    try:
        seconds, _ = timed(ingest_all)
        waiting = warehouse.mirror.pending()
    finally:
        warehouse.close()
    expected = (len(staged.files), staged.events, 0)
    if (files[0], loaded[0], waiting) != expected:
        raise RuntimeError(
            f"S3 pipe loaded {files[0]} files, {loaded[0]} events and left {waiting} objects "
            f"or notices; expected {expected}"
        )
    return staged.events / seconds


def utc(moment: datetime) -> datetime:
    return moment.astimezone(UTC).replace(tzinfo=None)


def newest_ordered(body: bytes) -> datetime | None:
    """The newest `ordered_at` among an object's order events."""
    newest = None
    for line in body.decode("utf-8", errors="replace").splitlines():
        try:
            event = json.loads(line)
            ordered_at = utc(datetime.fromisoformat(event["ordered_at"]).replace(tzinfo=UTC))
        except (ValueError, KeyError, TypeError):
            continue
        newest = ordered_at if newest is None or ordered_at > newest else newest
    return newest


@dataclass
class LatencyRun:
    latencies: list[float]  # s, object written → visible, per object of the window
    objects: int
    # Objects not visible TAIL_S after the window (their latency: a lower bound).
    unseen: int = 0


class LedgerWatch:
    """When each `orders/` object was written: the producer appends an object's
    ledger line right after the batch's PUTs succeeded; a thread reads the new
    ledger lines every LEDGER_POLL_S."""

    def __init__(self, ledger: Path) -> None:
        self.ledger = ledger
        self.written: dict[str, datetime] = {}  # file name under the prefix → when
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        offset = 0
        while not self._stop.is_set():
            if self.ledger.exists():
                with open(self.ledger, "rb") as handle:
                    handle.seek(offset)
                    chunk = handle.read()
                now = datetime.now(UTC).replace(tzinfo=None)
                complete = chunk[: chunk.rfind(b"\n") + 1]
                offset += len(complete)
                for line in complete.splitlines():
                    record = json.loads(line)
                    if record["table"] == "orders":
                        self.written.setdefault(record["file"], now)
            self._stop.wait(LEDGER_POLL_S)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


def latency_run(home: Path, bucket: S3Bucket, rate: int, config: S3Config) -> LatencyRun:
    """`simulate.py --stage` at `rate` for `config.seconds` after settling; then the
    latency of every orders object written in that window."""
    events = int(rate * (120 + config.seconds + TAIL_S))
    command = [
        sys.executable, "scripts/simulate.py", "--events", str(events), "--rate", str(rate),
        "--home", str(home), *bucket.flags(),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, cwd=PROJECT_DIR, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ledger = LedgerWatch(Settings.locate("dev", home).ledger_path)
    serving = home / "serving.duckdb"
    polls: list[tuple[datetime, datetime]] = []  # (when read, newest order shown)
    window: list[datetime] = []
    try:
        while True:
            if process.poll() is not None:
                raise RuntimeError(f"simulate.py stopped early:\n{process.stderr.read()[-2000:]}")
            newest = newest_order(serving) if serving.exists() else None
            now = datetime.now(UTC).replace(tzinfo=None)
            if newest is not None:
                polls.append((now, newest))
                if not window:
                    window.append(now + timedelta(seconds=config.settle_s))
                    window.append(window[0] + timedelta(seconds=config.seconds))
                # Past the window, until an order newer than its end shows.
                tail_over = now > window[1] + timedelta(seconds=TAIL_S)
                if now > window[1] and (newest >= window[1] or tail_over):
                    break
            time.sleep(POLL_S)
    finally:
        process.kill()
        process.wait()
        ledger.stop()
    s3 = bucket.client()
    latencies: list[float] = []
    unseen = 0
    for name, written in sorted(ledger.written.items()):
        if not window[0] <= written <= window[1]:
            continue
        body = s3.get_object(Bucket=bucket.bucket, Key=f"{bucket.prefix}{name}")["Body"].read()
        newest = newest_ordered(body)
        seen = next(
            (read for read, shown in polls if read >= written and newest and shown >= newest), None
        )
        if seen is None:
            # Not visible by the last poll: that poll is a lower bound of its latency.
            unseen += 1
            seen = polls[-1][0]
        latencies.append((seen - written).total_seconds())
    if not latencies:
        raise RuntimeError(f"no orders object written in the window at {rate:,} events/s")
    return LatencyRun(latencies, len(latencies), unseen)


def run(config: S3Config, workdir: Path) -> Section:
    figures: list[Figure] = []
    notes: list[str] = []
    with aws_test_credentials(), moto_bucket(workdir / "moto.log") as bucket:
        ingest = IngestConfig(config.batches, config.events_per_batch, config.runs, row_events=0)
        log(f"s3: staging {config.batches} batches of {config.events_per_batch:,} events")
        staged = write_stage_files(workdir / "s3-source-stage", ingest)
        folder, s3_pipe = [], []
        for index in range(config.runs):
            folder.append(pipe_run(workdir / f"s3-folder-{index}", staged))
            run_bucket = bucket.notifying(f"ingest-{index}/", f"ingest-{index}")
            s3_pipe.append(s3_pipe_run(workdir / f"s3-home-{index}", staged, run_bucket))
            log(
                f"s3 ingest run {index + 1}/{config.runs}: folder pipe {folder[-1]:,.0f}, "
                f"S3 pipe {s3_pipe[-1]:,.0f} events/s"
            )
        figures += [
            Figure("(a) folder pipe: `warehouse.ingest()`", "events/s", folder),
            Figure("(a) S3 pipe: `warehouse.ingest()` with `--stage s3://…`", "events/s", s3_pipe),
            Figure(
                "S3 pipe / folder pipe (run by run)", "%",
                [100 * value for value in ratios(s3_pipe, folder)], digits=1,
            ),
        ]  # fmt: skip
        for rate in config.rates:
            p50, p95, counts, unseen = [], [], [], []
            for index in range(config.runs):
                run_bucket = bucket.notifying(f"live-{rate}-{index}/", f"live-{rate}-{index}")
                measured = latency_run(
                    workdir / f"s3-live-{rate}-{index}", run_bucket, rate, config
                )
                p50.append(statistics.median(measured.latencies))
                p95.append(percentile(measured.latencies, 95))
                counts.append(measured.objects)
                unseen.append(measured.unseen)
                log(
                    f"s3 latency at {rate:,} events/s, run {index + 1}/{config.runs}: "
                    f"p50 {p50[-1]:.2f} s, p95 {p95[-1]:.2f} s ({measured.objects} objects)"
                )
            figures += [
                Figure(f"(b) object written → visible at {rate:,} events/s, p50", "s", p50, digits=2),
                Figure(f"(b) object written → visible at {rate:,} events/s, p95", "s", p95, digits=2),
            ]  # fmt: skip
            notes.append(
                f"{rate:,} events/s: {', '.join(map(str, counts))} orders objects per run."
            )
    return Section(
        title="8. S3 stage (moto on this machine)",
        method=method(config, staged),
        figures=figures,
        notes=notes,
    )


def method(config: S3Config, staged: StagedInput) -> list[str]:
    return [
        "A moto server (S3 + SQS, `moto[server]`) on 127.0.0.1, started by the benchmark; the "
        "bucket's s3:ObjectCreated notices of each run's own prefix go to that run's own queue. "
        "moto is a local Python server: it says what the embedded engine's S3 path costs here, "
        "not what AWS's latency would be.",
        f"(a) Input: {staged.events:,} generated events in {len(staged.files)} stage files "
        f"({staged.size_mb:,.1f} MB of NDJSON), the same files for both pipes. Folder pipe: as "
        "in section 2 (a). S3 pipe, per run: the files put under a fresh prefix (not timed), "
        "until its queue holds a notice per object (observed), a fresh warehouse with "
        "`--stage s3://…` and the queue (not timed), then `warehouse.ingest()` timed until "
        "every event is loaded: notices received, objects downloaded into the home's stage "
        "folder, the pipe's load, notices deleted. At the end no object or notice is left.",
        f"(b) {config.runs} runs per rate of `python scripts/simulate.py --rate R --stage "
        "s3://… --sqs-queue-url … --s3-endpoint-url …` (producer and embedded pipeline in one "
        "process). A reader polls `serving.duckdb` every 200 ms. Every `orders/` object "
        f"written from {config.settle_s:.0f} s after the first publication showing an order, "
        f"for {config.seconds:.0f} s, counts: its latency is the first poll showing an order at "
        "least as new as its newest order, minus when it was written: when its line appeared "
        "in the producer's ledger (appended right after the batch's PUTs succeeded; read every "
        "20 ms; S3's LastModified has whole seconds only). The 200 ms poll is part of it. The percentiles are per run; the table gives their "
        "min/median/max over the runs.",
    ]
