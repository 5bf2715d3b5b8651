"""Exactly once from Kafka under crashes: the embedded consumer (pipeline.py
--source kafka) SIGKILLed at random points chosen by its observed progress
(dbt's files, the warehouse's commits, the serving file), restarted each time
while a producer in the test keeps writing; then drained. Every record the
broker acknowledged is in raw once and every order line in fct_sales once,
counted from the topics themselves and the producer's ledger. And a
rebalance: two consumers of one group, the first dying mid-batch and between
its warehouse commit and its Kafka commit; the second, given its partitions,
loads every record once."""

from __future__ import annotations

import itertools
import json
import random
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pytest
from conftest import assert_sales_tie_out_to_the_ledger, run
from test_crash import (
    TRIAL_TIMEOUT_S,
    KillPoint,
    Reached,
    Step,
    dbt_writes,
    kill_at,
    publishing,
    warehouse_commit,
)
from test_kafka import TOPIC, is_event, records

TRIALS = 10


def kafka_commits(bootstrap: str, records: int) -> Step:
    """The consumer group's committed offsets `records` further: the loader
    commits to Kafka only after the warehouse committed, so these are loads done."""

    def start(home: Path) -> Reached:
        from confluent_kafka import Consumer, TopicPartition

        from snowcart.settings import landing_tables

        reader = Consumer({"bootstrap.servers": bootstrap, "group.id": "snowcart"})
        partitions = [TopicPartition(f"{TOPIC}{table}", partition)
                      for table in landing_tables() for partition in range(3)]  # fmt: skip

        def committed() -> int:
            offsets = reader.committed(partitions, timeout=10)
            return sum(max(offset.offset, 0) for offset in offsets)

        floor = committed() + records
        return lambda: committed() >= floor

    return start


def kafka_phases(bootstrap: str) -> dict[str, Callable[[random.Random], tuple[Step, ...]]]:
    """A restart first joins the group (waiting for it to drop the killed
    member), builds every model and publishes, then cycles: each later phase
    waits for loads done first, so the kill meets a consumer at work."""

    def loads(chooser: random.Random) -> Step:
        return kafka_commits(bootstrap, chooser.randint(1, 3000))

    return {
        "start and initial build": lambda chooser: (dbt_writes(chooser.randint(1, 80)),),
        "load": lambda chooser: (loads(chooser), warehouse_commit()),
        "between loads": lambda chooser: (loads(chooser),),
        "streaming dbt build": lambda chooser: (loads(chooser), dbt_writes(chooser.randint(1, 6))),
        "publication": lambda chooser: (loads(chooser), publishing()),
    }


def stored_records(home: Path) -> int:
    """Records the warehouse holds by its stored offsets (read between runs)."""
    if not (home / "warehouse.duckdb").exists():
        return 0
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        try:
            (stored,) = con.execute(
                "select coalesce(sum(next_offset), 0) from ops.kafka_offsets"
            ).fetchone()
        except duckdb.CatalogException:  # killed before the table was made
            return 0
    return stored


class ShopProducer:
    """The generator's batches to the topics (the project's KafkaSink and its
    ledger), from a thread of the test: never killed, so every acknowledged
    record is in the topics exactly once."""

    def __init__(self, bootstrap: str, folder: Path) -> None:
        from snowcart.settings import landing_tables
        from snowcart.sources.generator import ShopGenerator
        from snowcart.sources.producer import Producer
        from snowcart.stages.kafka import KafkaSettings, KafkaSink

        self.ledger_path = folder / "ledger.ndjson"
        sink = KafkaSink(KafkaSettings(bootstrap), landing_tables())
        self.producer = Producer(ShopGenerator(seed=17), sink, self.ledger_path,
                                 folder / "producer_state.json")  # fmt: skip
        self.clock = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        self.stop = threading.Event()
        self.thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def emit(self, events: int) -> None:
        start, self.clock = self.clock, self.clock + timedelta(seconds=1)
        self.producer.emit(events, start, self.clock)

    def __enter__(self) -> ShopProducer:
        def keep_producing() -> None:
            try:
                while not self.stop.wait(0.5):
                    self.emit(200)
            except BaseException as error:  # surfaced by __exit__
                self.error = error

        self.stop.clear()
        self.thread = threading.Thread(target=keep_producing, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop.set()
        self.thread.join()
        if self.error is not None:
            raise self.error

    def ledger(self) -> list[dict]:
        return [json.loads(text) for text in self.ledger_path.read_text().splitlines()]


def test_a_consumer_killed_at_random_points_loads_every_record_once(tmp_path, kafka_bootstrap):
    from snowcart.settings import landing_tables

    chooser = random.Random(20261202)
    home = tmp_path / "home"
    flags = ["--source", "kafka", "--bootstrap-servers", kafka_bootstrap]
    # The producer's ledger in the home, where reconcile reads it.
    shop = ShopProducer(kafka_bootstrap, home)
    shop.emit(400)
    steps = kafka_phases(kafka_bootstrap)
    phases = [list(steps)[trial % len(steps)] for trial in range(TRIALS)]
    chooser.shuffle(phases)
    stored_after_trials = []
    for trial, phase in enumerate(phases):
        started = time.monotonic()
        point = KillPoint(phase, steps[phase](chooser))
        with shop:
            kill_at(point, home, tmp_path / f"trial-{trial}.log", started + TRIAL_TIMEOUT_S,
                    *flags, command=("scripts/pipeline.py",))  # fmt: skip
        stored_after_trials.append(stored_records(home))
        print(f"trial {trial}: killed in {phase} after {time.monotonic() - started:.1f} s, "
              f"{stored_after_trials[-1]:,} records stored")  # fmt: skip
    # The kills met a consumer at work, not only starting ones.
    advanced = sum(b > a for a, b in itertools.pairwise([0, *stored_after_trials]))
    assert advanced >= TRIALS // 2, stored_after_trials

    drained = run([sys.executable, "scripts/pipeline.py", "--drain", "--home", str(home), *flags])
    assert drained.returncode == 0, drained.stderr[-3000:]
    reconciled = run([sys.executable, "scripts/reconcile.py", "--home", str(home), *flags])
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr

    # Independently of the loader's bookkeeping: the topics read back.
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for table in landing_tables():
            topic = records(kafka_bootstrap, f"{TOPIC}{table}")
            events = sorted(json.loads(value)["event_id"] for *_, value in topic if is_event(value))
            held = sorted(
                row[0]
                for row in con.execute(f"select payload->>'event_id' from raw.{table}").fetchall()
            )
            assert held == events, table  # each acknowledged record once, none more
        (rows, distinct_ids) = con.execute(
            "select count(*), count(distinct order_line_id) from analytics.fct_sales"
        ).fetchone()
    assert rows == distinct_ids
    assert_sales_tie_out_to_the_ledger(home, shop.ledger())


def customer_records(first: int, count: int) -> list[bytes]:
    return [
        json.dumps({"event_id": f"c{n}", "event_type": "customer_created",
                    "event_at": "2026-01-01T00:00:00", "customer_id": f"C{n}"}).encode()
        for n in range(first, first + count)
    ]  # fmt: skip


class Died(Exception):
    """The first consumer's death, in the middle of a batch."""


def test_a_rebalance_after_a_consumer_dies_mid_batch_loses_and_doubles_nothing(
    tmp_path, kafka_bootstrap
):
    """Two consumers of one group, each with its own connection to one
    warehouse. The first never gets a commit through to Kafka and dies in the
    middle of its second batch (rows inserted, transaction not committed); it
    leaves without a commit, so the group moves its partitions at once (what a
    kill does after the session times out). The second, given them, starts at
    the warehouse's stored offsets, not Kafka's (which say nothing was read)."""
    from snowcart.engines.duckdb.kafka_load import KafkaLoader, create_offsets_table, stored_offsets
    from snowcart.stages.kafka import KafkaSettings, TopicFeed, ensure_topics

    home = tmp_path / "home"
    setup = run([sys.executable, "scripts/setup.py", "--target", "dev", "--home", str(home)])
    assert setup.returncode == 0, setup.stderr
    settings = KafkaSettings(kafka_bootstrap, topic_prefix="rebalance.", group_id="pair")
    topic = settings.topic_for("customers")
    ensure_topics(settings, ["customers"])
    first_batch, second_batch = customer_records(0, 600), customer_records(600, 600)
    keyed_produce(kafka_bootstrap, topic, first_batch)

    con = duckdb.connect(str(home / "warehouse.duckdb"))
    create_offsets_table(con)
    consumers = []
    for _ in range(2):
        cursor = con.cursor()
        feed = TopicFeed(settings, ["customers"], lambda cursor=cursor: stored_offsets(cursor))
        consumers.append(KafkaLoader(cursor, feed, "raw"))
    dying, survivor = consumers
    dying.feed.commit = lambda next_offsets: None  # its commits never reach Kafka

    def until(done, *loaders: KafkaLoader) -> None:
        deadline = time.monotonic() + 120
        while not done():
            assert time.monotonic() < deadline, "no progress in 120 s"
            for loader in loaders:
                loader.load(timeout_s=0.5)

    # Both in the group, each with its share of the 3 partitions, read to the end.
    until(lambda: all(c.feed.assigned and c.feed.caught_up() for c in consumers), *consumers)
    survivor_partitions = set(survivor.feed.assigned)
    keyed_produce(kafka_bootstrap, topic, second_batch)

    real_insert = dying._insert

    def insert_then_die(*args):
        real_insert(*args)
        raise Died

    dying._insert = insert_then_die
    with pytest.raises(Died):
        until(lambda: False, dying)
    dying.feed.close()

    # The survivor takes every partition over and reads them to their end.
    until(lambda: len(survivor.feed.assigned) == 3 and survivor.feed.caught_up(), survivor)
    assert survivor.feed.assigned > survivor_partitions
    ends = {}
    for partition, offset, *_ in records(kafka_bootstrap, topic):
        ends[(topic, partition)] = max(ends.get((topic, partition), 0), offset + 1)
    until(lambda: stored_offsets(con) == ends, survivor)
    held = sorted(row[0] for row in con.execute(
        "select payload->>'event_id' from raw.customers").fetchall())  # fmt: skip
    produced = sorted(json.loads(value)["event_id"] for value in first_batch + second_batch)
    assert held == produced
    survivor.feed.close()
    con.close()


def keyed_produce(bootstrap: str, topic: str, values: list[bytes]) -> None:
    """Each record keyed by its customer, so the records spread over the partitions."""
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap})
    for value in values:
        producer.produce(topic, value=value, key=json.loads(value)["customer_id"].encode())
    assert producer.flush(30) == 0
