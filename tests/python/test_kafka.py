"""Kafka topics as the source of the embedded engine, against a real
Kafka-protocol broker (Tansu, started by the `kafka_bootstrap` fixture): events
produced to one topic per landing table, consumed in batches, loaded with their
offsets in one DuckDB transaction; every count tied to the topics themselves
(read back with a plain consumer) and to the producer's ledger."""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from pathlib import Path

import duckdb
from conftest import assert_sales_tie_out_to_the_ledger, run, simulate
from test_dashboard import TABS, app_test

TOPIC = "snowcart."


def pipeline(home: Path, *flags: str):
    return run([sys.executable, "scripts/pipeline.py", "--drain", "--home", str(home), *flags])


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def records(bootstrap: str, topic: str) -> list[tuple[int, int, bytes | None, bytes | None]]:
    """Every record of `topic`, read back with a plain consumer (no group), until
    reading stops bringing any: (partition, offset, key, value). (Tansu reports
    a partition's end behind what it holds, so the ends cannot say when to stop.)"""
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "test-reader",
                         "enable.auto.commit": False})  # fmt: skip
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        consumer.assign([TopicPartition(topic, p, 0) for p in partitions])
        found, idle = [], 0
        while idle < 3:
            batch = [r for r in consumer.consume(num_messages=10_000, timeout=2) if not r.error()]
            idle = 0 if batch else idle + 1
            found += [(r.partition(), r.offset(), r.key(), r.value()) for r in batch]
        return found
    finally:
        consumer.close()


def committed(bootstrap: str, group: str, topic: str) -> dict[int, int]:
    from confluent_kafka import Consumer, TopicPartition

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": group})
    try:
        partitions = consumer.list_topics(topic, timeout=10).topics[topic].partitions
        offsets = consumer.committed([TopicPartition(topic, p) for p in partitions], timeout=10)
        return {offset.partition: offset.offset for offset in offsets}
    finally:
        consumer.close()


def is_event(value: bytes | None) -> bool:
    """Python's own reading of a record: a JSON object with a string event_id."""
    try:
        event = json.loads(value.decode("utf-8"))
    except (AttributeError, ValueError):
        return False
    return isinstance(event, dict) and isinstance(event.get("event_id"), str)


def test_events_through_topics_reach_the_marts_once(tmp_path, kafka_bootstrap, monkeypatch):
    from snowcart.settings import landing_tables

    home = tmp_path / "home"
    flags = ["--sink", "kafka", "--bootstrap-servers", kafka_bootstrap]
    result = simulate("--events", "3000", "--rate", "0", "--malformed-rate", "0.01",
                      "--duplicate-rate", "0.01", "--home", str(home), *flags)  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]

    ledger = [json.loads(text) for text in (home / "ledger.ndjson").read_text().splitlines()]
    produced = Counter()
    for record in ledger:
        produced[record["table"]] += record["events"]
    reconcile = [sys.executable, "scripts/reconcile.py", "--home", str(home), "--source", "kafka",
                 "--bootstrap-servers", kafka_bootstrap]  # fmt: skip
    reconciled = run(reconcile)
    assert reconciled.returncode == 0, reconciled.stderr + reconciled.stdout
    topic_ends: dict[str, dict[int, int]] = {}
    for table, count in produced.items():
        topic = records(kafka_bootstrap, f"{TOPIC}{table}")
        events = sum(1 for *_, value in topic if is_event(value))
        # Reconcile's row: emitted, read, loaded, rejected, lag, as the topic says.
        row = (
            rf"│ {table} +│ +{count:,} │ +{len(topic):,} │ +{events:,} │ +{count - events:,} │ +0 │"
        )
        assert re.search(row, reconciled.stdout), reconciled.stdout
        # The topic holds what the ledger says was acknowledged, no more.
        assert len(topic) == count, table
        [(landed,)] = query(home, f"select count(*) from raw.{table}")
        [(rejected,)] = query(home, "select count(*) from ops.load_errors"
                              f" where file_name like 'kafka:{TOPIC}{table}/%'")  # fmt: skip
        assert (landed, rejected) == (events, count - events), table
        # Each record once, where it came from.
        [(distinct,)] = query(
            home, f"select count(distinct (_file_name, _file_row_number)) from raw.{table}"
        )
        assert distinct == landed
        # Stored offsets = the end of every partition; Kafka's committed offsets too.
        ends = Counter()
        for partition, offset, *_ in topic:
            ends[partition] = max(ends[partition], offset + 1)
        stored = dict(query(home, "select kafka_partition, next_offset from ops.kafka_offsets"
                                  f" where topic = '{TOPIC}{table}'"))  # fmt: skip
        assert stored == dict(ends), table
        topic_ends[table] = dict(ends)
        assert committed(kafka_bootstrap, "snowcart", f"{TOPIC}{table}") == dict(ends), table
    # An order's events stay in one partition (keyed by the order).
    partitions_of_order: dict[bytes, set[int]] = {}
    for partition, _, key, _ in records(kafka_bootstrap, f"{TOPIC}order_status"):
        partitions_of_order.setdefault(key, set()).add(partition)
    assert partitions_of_order and all(len(found) == 1 for found in partitions_of_order.values())

    assert_sales_tie_out_to_the_ledger(home, ledger)

    # Records not loaded yet, and a loaded row gone, are each a mismatch.
    produce(kafka_bootstrap, f"{TOPIC}products", [b'{"event_id": "late"}'])
    behind = run(reconcile)
    assert behind.returncode == 1
    assert "products: 1 records in snowcart.products not loaded yet" in behind.stderr
    with duckdb.connect(str(home / "warehouse.duckdb")) as con:
        con.execute("delete from raw.payments where rowid = (select min(rowid) from raw.payments)")
    lost = run(reconcile)
    assert lost.returncode == 1
    assert "payments: ops.kafka_offsets records" in lost.stderr, lost.stderr
    assert "payments: the stored offsets pass" in lost.stderr, lost.stderr

    # The consumer's lag, published with the marts and shown on Pipeline health.
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        stage = dict(con.execute("select field, value from ops.stage_status").fetchall())
    assert stage == {"Kafka lag (records)": "0", "Kafka lag by partition": "none"}
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        published = con.execute("select topic, kafka_partition, next_offset, lag"
                                " from ops.kafka_lag").fetchall()  # fmt: skip
    # Every partition of every landing table's topic (3 each), at its end.
    assert sorted(published) == sorted(
        (f"{TOPIC}{table}", partition, topic_ends.get(table, {}).get(partition, 0), 0)
        for table in landing_tables()
        for partition in range(3)
    )
    app = app_test(monkeypatch, home)
    app.run()
    assert not app.exception, [exception.value for exception in app.exception]
    health = app.tabs[TABS.index("Pipeline health")]
    assert "Kafka topics" in [header.value for header in health.subheader]


def produce(bootstrap: str, topic: str, values: list[bytes | None]) -> None:
    from confluent_kafka import Producer

    producer = Producer({"bootstrap.servers": bootstrap, "message.max.bytes": 4 << 20})
    for value in values:
        producer.produce(topic, value=value, key=b"k")
    assert producer.flush(30) == 0


def test_every_kind_of_bad_record_is_kept_with_its_reason_and_stored_offsets_decide(
    tmp_path, kafka_bootstrap
):
    """Records that are no event go to ops.load_errors with topic, partition,
    offset and reason; the good ones load; a second consumer group (Kafka's
    committed offsets at zero) loads nothing twice."""
    from snowcart.settings import landing_tables
    from snowcart.stages.kafka import KafkaSettings, ensure_topics

    home = tmp_path / "home"
    ensure_topics(KafkaSettings(kafka_bootstrap), landing_tables())
    good = [
        json.dumps({"event_id": f"c{n}", "event_type": "customer_created",
                    "event_at": "2026-01-01T00:00:00", "customer_id": f"C{n}"}).encode()
        for n in range(3)
    ]  # fmt: skip
    bad = {
        b"\xff\xfe not utf-8": "invalid UTF-8 at byte 0",
        b"x" * (1 << 20 | 7): "oversized: 1,048,583 bytes (at most 1,048,576)",
        None: "no value (a tombstone)",
        b"": "empty line",
        b"{not json": "malformed JSON",
        b"[1, 2]": "not a JSON object",
        b'{"event_type": "customer_created"}': "missing required field event_id",
        b'{"event_id": 7}': "wrong type for event_id: UBIGINT",
    }
    produce(kafka_bootstrap, f"{TOPIC}customers", [good[0], *bad, *good[1:]])
    flags = ["--source", "kafka", "--bootstrap-servers", kafka_bootstrap]
    first = pipeline(home, *flags)
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-3000:]

    [(landed,)] = query(home, "select count(*) from raw.customers")
    assert landed == len(good)
    errors = query(home, "select file_name, line_number, reason from ops.load_errors"
                         " order by line_number")  # fmt: skip
    topic = records(kafka_bootstrap, f"{TOPIC}customers")
    where = {value: (partition, offset) for partition, offset, _, value in topic}
    assert errors == [
        (f"kafka:{TOPIC}customers/{where[value][0]}", where[value][1], reason)
        for value, reason in bad.items()
    ]
    # A consumer in another group starts from Kafka's offset 0, yet the stored
    # offsets decide: nothing loads twice. New records still load.
    produce(kafka_bootstrap, f"{TOPIC}customers", [good[0].replace(b'"c0"', b'"c9"')])
    again = pipeline(home, *flags, "--consumer-group", "another")
    assert again.returncode == 0, again.stderr[-3000:] + again.stdout[-3000:]
    [(landed,)] = query(home, "select count(*) from raw.customers")
    [(rejected,)] = query(home, "select count(*) from ops.load_errors")
    assert (landed, rejected) == (len(good) + 1, len(bad))


def test_a_broker_or_topic_that_is_not_there_is_one_line(tmp_path, kafka_bootstrap):
    from snowcart.devtools.local_servers import free_port

    home = tmp_path / "home"
    nobody = f"127.0.0.1:{free_port()}"
    unreachable = pipeline(home, "--source", "kafka", "--bootstrap-servers", nobody)
    assert unreachable.returncode == 1
    [line] = unreachable.stderr.strip().splitlines()
    assert f"the broker at {nobody} did not answer" in line, line

    unknown = pipeline(home, "--source", "kafka", "--bootstrap-servers", kafka_bootstrap,
                       "--topic-prefix", "nowhere.")  # fmt: skip
    assert unknown.returncode == 1
    [line] = unknown.stderr.strip().splitlines()
    assert "unknown Kafka topic nowhere." in line, line

    no_source = pipeline(home, "--bootstrap-servers", kafka_bootstrap)
    assert no_source.returncode == 1
    assert "--bootstrap-servers needs --source kafka" in no_source.stderr
