"""The S3 stage on the embedded engine, against moto's S3 and SQS (started by
the `s3_bucket` fixture): batch files written to a bucket, brought in as their
notices arrive or as the prefix is listed, loaded once each; every count tied to
the objects themselves and to the producer's ledger."""

from __future__ import annotations

import json
import random
import re
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
from conftest import assert_sales_tie_out_to_the_ledger, run, simulate
from test_crash import TRIAL_TIMEOUT_S, KillPoint, dbt_writes, kill_at, warehouse_commit
from test_dashboard import TABS, app_test


def pipeline(home: Path, *flags: str):
    return run([sys.executable, "scripts/pipeline.py", "--drain", "--home", str(home), *flags])


def objects(bucket) -> dict[str, bytes]:
    """Every object under the prefix: name relative to it → content."""
    s3 = bucket.client()
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="shop", Prefix="events/"):
        for item in page.get("Contents", []):
            body = s3.get_object(Bucket="shop", Key=item["Key"])["Body"].read()
            found[item["Key"].removeprefix("events/")] = body
    return found


def lines_of(body: bytes) -> list[bytes]:
    return body.split(b"\n")[:-1] if body.endswith(b"\n") else body.split(b"\n")


def queued(bucket) -> int:
    attributes = bucket.client("sqs").get_queue_attributes(
        QueueUrl=bucket.queue_url,
        AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
    )["Attributes"]
    return sum(int(value) for value in attributes.values())


def query(home: Path, sql: str) -> list[tuple]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        return con.execute(sql).fetchall()


def test_events_through_a_bucket_reach_the_marts_once_and_reconcile(
    tmp_path, s3_bucket, monkeypatch
):
    home = tmp_path / "home"
    result = simulate("--events", "3000", "--rate", "0", "--malformed-rate", "0.01",
                      "--duplicate-rate", "0.01", "--home", str(home), *s3_bucket.flags())  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:] + result.stdout[-3000:]

    ledger = [json.loads(text) for text in (home / "ledger.ndjson").read_text().splitlines()]
    stored = objects(s3_bucket)
    # One object per ledger file, holding the events the ledger records.
    assert sorted(stored) == sorted(record["file"] for record in ledger)
    for record in ledger:
        assert len(lines_of(stored[record["file"]])) == record["events"], record["file"]
    # Every line of every object landed once (loaded or rejected), none twice.
    for table in {record["table"] for record in ledger}:
        lines = sum(
            len(lines_of(body)) for name, body in stored.items() if name.startswith(f"{table}/")
        )
        [(landed,)] = query(home, f"select count(*) from raw.{table}")
        [(rejected,)] = query(home, "select count(*) from ops.load_errors"
                              f" where file_name like '{table}/%'")  # fmt: skip
        assert landed + rejected == lines, table
    assert_sales_tie_out_to_the_ledger(home, ledger)
    assert queued(s3_bucket) == 0  # every notice deleted once its object was loaded

    # The S3 stage's state, published with the marts and shown on Pipeline health.
    with duckdb.connect(str(home / "serving.duckdb"), read_only=True) as con:
        stage = dict(con.execute("select field, value from ops.stage_status").fetchall())
    assert stage == {"SQS notices waiting": "0"}  # nothing unloaded: no oldest object
    app = app_test(monkeypatch, home)
    app.run()
    assert not app.exception, [exception.value for exception in app.exception]
    health = app.tabs[TABS.index("Pipeline health")]
    assert "S3 stage" in [header.value for header in health.subheader]
    [shown] = [frame.value for frame in health.dataframe if "field" in frame.value.columns]
    assert shown[["field", "value"]].values.tolist() == [["SQS notices waiting", "0"]]

    reconcile = [sys.executable, "scripts/reconcile.py", "--home", str(home), *s3_bucket.flags()]
    reconciled = run(reconcile)
    assert reconciled.returncode == 0, reconciled.stderr + reconciled.stdout
    orders_objects = sum(1 for name in stored if name.startswith("orders/"))
    assert re.search(rf"│ orders +│ +{orders_objects} │", reconciled.stdout), reconciled.stdout

    # An object no pipeline has brought in yet is named, not silently left out.
    s3_bucket.client().put_object(Bucket="shop", Key="events/orders/batch-0000009999.ndjson",
                                  Body=stored[ledger[0]["file"]])  # fmt: skip
    behind = run(reconcile)
    assert behind.returncode == 1
    assert (
        f"MISMATCH orders: 1 of {orders_objects + 1} objects in the S3 stage not brought into "
        "the local stage yet" in behind.stderr
    ), behind.stderr


def notice_of(bucket, key: str) -> str:
    """An s3:ObjectCreated:Put notification of `key`, as S3 sends it (key URL-encoded)."""
    from urllib.parse import quote_plus

    head = bucket.client().head_object(Bucket="shop", Key=key)
    return json.dumps({"Records": [{
        "eventVersion": "2.1", "eventSource": "aws:s3", "eventName": "ObjectCreated:Put",
        "s3": {"bucket": {"name": "shop"}, "object": {
            "key": quote_plus(key), "size": head["ContentLength"], "eTag": head["ETag"].strip('"'),
        }},
    }]})  # fmt: skip


def test_every_kind_of_notice_and_a_lost_one_load_each_object_once(tmp_path, s3_bucket):
    """A test event, an encoded key, a notice sent twice, a notice of an object
    deleted before it was read, an object written again with other content
    (skipped and reported, as Snowpipe does), and notices lost (queue purged):
    each object's lines land once."""
    from snowcart.sources.generator import ShopGenerator
    from snowcart.sources.producer import Producer
    from snowcart.stages.local import LocalStage

    source = tmp_path / "source"
    producer = Producer(ShopGenerator(seed=5), LocalStage(source / "stage"),
                        source / "ledger.ndjson", source / "producer.json")  # fmt: skip
    producer.emit(600, datetime(2026, 3, 1, 6), datetime(2026, 3, 1, 12))
    orders = (source / "stage" / "orders" / "batch-0000000000.ndjson").read_bytes()
    s3, sqs = s3_bucket.client(), s3_bucket.client("sqs")
    encoded = "events/orders/batch 0+a&b.ndjson"  # arrives as events%2Forders%2Fbatch+0%2Ba%26b…
    s3.put_object(Bucket="shop", Key=encoded, Body=orders)
    sqs.send_message(QueueUrl=s3_bucket.queue_url, MessageBody=notice_of(s3_bucket, encoded))
    s3.put_object(Bucket="shop", Key="events/orders/gone.ndjson", Body=b'{"event_id": "x"}\n')
    s3.delete_object(Bucket="shop", Key="events/orders/gone.ndjson")
    # A console's "create folder": a zero-byte key ending in /, listed before the files in it.
    s3.put_object(Bucket="shop", Key="events/orders/", Body=b"")

    home = tmp_path / "home"
    first = pipeline(home, *s3_bucket.flags())
    assert first.returncode == 0, first.stderr[-3000:] + first.stdout[-3000:]
    assert query(home, "select file_name, line_count from ops.load_history") == [
        ("orders/batch 0+a&b.ndjson", len(lines_of(orders)))
    ]
    [(landed,)] = query(home, "select count(*) from raw.orders")
    assert landed == len(lines_of(orders))
    assert queued(s3_bucket) == 0
    # What is not brought in is said, once, with its reason.
    said = first.stdout + first.stderr
    assert "skipped events/orders/gone.ndjson: deleted before it was read" in said, said[-3000:]
    assert "skipped events/orders/: a folder marker" in said, said[-3000:]
    # The live status's last line: the stage and its queue are empty.
    assert "stage backlog (files)=0" in first.stdout and "SQS notices waiting=0" in first.stdout

    # Written again with other content: skipped and reported, the loaded rows kept.
    s3.put_object(Bucket="shop", Key=encoded, Body=orders + orders)
    # Lost notices: the object below is found by listing the prefix.
    late = (source / "stage" / "payments" / "batch-0000000000.ndjson").read_bytes()
    s3.put_object(Bucket="shop", Key="events/payments/batch-0000000007.ndjson", Body=late)
    sqs.purge_queue(QueueUrl=s3_bucket.queue_url)
    second = pipeline(home, *s3_bucket.flags())
    assert second.returncode == 0, second.stderr[-3000:] + second.stdout[-3000:]
    assert "orders/batch 0+a&b.ndjson" in second.stdout + second.stderr
    assert query(home, "select file_name from ops.load_skips") == [("orders/batch 0+a&b.ndjson",)]
    assert query(home, "select count(*) from raw.orders") == [(landed,)]
    assert query(home, "select count(*) from raw.payments") == [(len(lines_of(late)),)]
    assert sorted(name for (name,) in query(home, "select file_name from ops.load_history")) == [
        "orders/batch 0+a&b.ndjson", "payments/batch-0000000007.ndjson",
    ]  # fmt: skip


# ---------------------------------------------------------------- crashes


def object_count(bucket) -> int:
    pages = (
        bucket.client().get_paginator("list_objects_v2").paginate(Bucket="shop", Prefix="events/")
    )
    return sum(len(page.get("Contents", [])) for page in pages)


def fetched_count(home: Path) -> int:
    try:
        return len(json.loads((home / "s3_mirror.json").read_text()))
    except (FileNotFoundError, ValueError):
        return 0


def s3_kill_point(phase: str, chooser: random.Random, bucket):
    """A target on observed progress: objects written, a notice received and
    not yet deleted, objects brought in, the load that follows committed."""

    def written(count: int):
        def start(home: Path):
            floor = object_count(bucket) + count
            return lambda: object_count(bucket) >= floor

        return start

    def notice_in_flight(home: Path):
        sqs = bucket.client("sqs")

        def reached() -> bool:
            attributes = sqs.get_queue_attributes(
                QueueUrl=bucket.queue_url, AttributeNames=["ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            return int(attributes["ApproximateNumberOfMessagesNotVisible"]) > 0

        return reached

    def fetched(count: int):
        def start(home: Path):
            floor = fetched_count(home) + count
            return lambda: fetched_count(home) >= floor

        return start

    steps = {
        "objects written": (written(chooser.randint(1, 20)),),
        "notice received, not deleted": (written(chooser.randint(0, 6)), notice_in_flight),
        "objects brought in": (fetched(chooser.randint(1, 12)),),
        "load after a download committed": (fetched(chooser.randint(1, 6)), warehouse_commit()),
        "streaming dbt build": (fetched(1), dbt_writes(chooser.randint(1, 6))),
    }
    return KillPoint(phase, steps[phase])


S3_PHASES = ("objects written", "notice received, not deleted", "objects brought in",
             "load after a download committed", "streaming dbt build")  # fmt: skip


def test_sigkill_at_ten_points_loses_and_doubles_nothing(tmp_path, s3_bucket):
    """Killed at 10 points of observed progress and restarted each time: every
    line of every object in the bucket is in raw once, every order line in
    fct_sales once, and every notice (those received but not deleted before a
    kill come back once their visibility timeout ends) is deleted in the end."""
    sqs = s3_bucket.client("sqs")
    sqs.set_queue_attributes(QueueUrl=s3_bucket.queue_url, Attributes={"VisibilityTimeout": "1"})
    chooser = random.Random(20261202)
    home = tmp_path / "home"
    phases = [S3_PHASES[trial % len(S3_PHASES)] for trial in range(10)]
    chooser.shuffle(phases)
    for trial, phase in enumerate(phases):
        deadline = time.monotonic() + TRIAL_TIMEOUT_S
        point = s3_kill_point(phase, chooser, s3_bucket)
        kill_at(point, home, tmp_path / f"trial-{trial}.log", deadline, *s3_bucket.flags())

    drained = run([sys.executable, "scripts/simulate.py", "--events", "0", *s3_bucket.flags()],
                  home=home)  # fmt: skip
    assert drained.returncode == 0, drained.stderr[-3000:]
    # Notices a kill left in flight reappear after their visibility timeout:
    # drained until the queue is empty (each drain deletes what it received).
    for _ in range(30):
        if queued(s3_bucket) == 0:
            break
        again = pipeline(home, *s3_bucket.flags())
        assert again.returncode == 0, again.stderr[-3000:]
    assert queued(s3_bucket) == 0
    reconciled = run([sys.executable, "scripts/reconcile.py"], home=home)
    assert reconciled.returncode == 0, reconciled.stdout + reconciled.stderr

    stored = objects(s3_bucket)
    order_lines = [
        item
        for name, body in stored.items() if name.startswith("orders/")
        for line in lines_of(body)
        for item in json.loads(line)["lines"]
    ]  # fmt: skip
    assert order_lines, "the trials produced nothing; the test proves nothing"
    [(rows, distinct)] = query(
        home, "select count(*), count(distinct order_line_id) from analytics.fct_sales"
    )
    assert rows == distinct == len(order_lines)
    for table in ("orders", "payments", "web_events"):
        lines = sum(
            len(lines_of(body)) for name, body in stored.items() if name.startswith(f"{table}/")
        )
        assert query(home, f"select count(*) from raw.{table}") == [(lines,)], table
