"""Kafka topics into Snowflake through Snowpipe Streaming: the loader
(snowcart/engines/snowflake/kafka_streaming.py) consuming a real
Kafka-protocol broker (Tansu, the `kafka_bootstrap` fixture) into a TEST
DOUBLE of the SDK (streaming_double.py), since no account is reachable here.
These prove the channel and offset logic; the real SDK path is untested.
Expected offsets come from the broker's own delivery reports, expected reasons
are written out here. Also: the setup's streaming pipes and grants, the Kafka
connector configuration, and the double's fidelity to the SDK's signatures."""

from __future__ import annotations

import inspect
import json
import sys
import uuid
from collections import Counter

import pytest
import sqlglot
from conftest import run
from sqlglot import exp
from streaming_double import FakeSnowflake, FakeStreamingIngestChannel, FakeStreamingIngestClient

from snowcart.engines.snowflake.connection import SnowflakeConfig
from snowcart.engines.snowflake.kafka_streaming import StreamingLoader, landing_row
from snowcart.errors import ConfigError
from snowcart.settings import landing_tables
from snowcart.stages.kafka import KafkaSettings, Message, ensure_topics
from snowcart.stages.records import MAX_EVENT_BYTES, classify

TABLES = ["orders", "payments"]
PARTITIONS = 3
COPIED_COLUMNS = ["_line", "_file_name", "_file_row_number", "_loaded_at"]


def settings_for(bootstrap: str) -> KafkaSettings:
    # A group of its own per test: channels are named after it.
    return KafkaSettings(bootstrap, group_id=f"g{uuid.uuid4().hex[:8]}", partitions=PARTITIONS)


def produce(settings: KafkaSettings, table: str, values: list, partition=None) -> dict:
    """Send `values` to the table's topic; (topic, partition) → {offset: value}
    as the broker acknowledged them."""
    from confluent_kafka import Producer

    ensure_topics(settings, TABLES)
    producer = Producer({"bootstrap.servers": settings.bootstrap_servers, "acks": "all",
                         "message.max.bytes": 4 << 20})  # fmt: skip
    acked: dict[tuple[str, int], dict[int, bytes | None]] = {}

    def delivered(error, message) -> None:
        assert error is None, error
        acked.setdefault((message.topic(), message.partition()), {})[message.offset()] = (
            message.value()
        )

    for number, value in enumerate(values):
        where = {"partition": number % PARTITIONS if partition is None else partition}
        producer.produce(settings.topic_for(table), value=value, on_delivery=delivered, **where)
    assert producer.flush(30) == 0
    return acked


def loader_for(settings: KafkaSettings, server: FakeSnowflake) -> StreamingLoader:
    clients = {
        table: FakeStreamingIngestClient(
            f"snowcart_{table}", "SNOWCART", "raw", f"{table}_streaming", server=server
        )
        for table in TABLES
    }
    return StreamingLoader(settings, TABLES, clients)


def load_until(loader: StreamingLoader, server: FakeSnowflake | None, rows: int) -> list:
    """Load passes (committing after each, when given the server) until `rows`
    records were appended, then two passes more with every partition read to its end."""
    reports, appended, idle = [], 0, 0
    for _ in range(200):
        report = loader.load(timeout_s=0.5)
        if server is not None:
            server.commit()
        reports.append(report)
        appended += report.rows_loaded + report.rows_rejected
        done = appended >= rows and loader.feed.caught_up()
        idle = idle + 1 if done else 0
        if idle >= 2:
            return reports
    raise AssertionError(f"appended {appended} of {rows} records")


def committed_by_channel(server: FakeSnowflake) -> dict[tuple[str, int], list[int]]:
    """(topic, partition) → the offsets of its committed rows, in commit order."""
    found: dict[tuple[str, int], list[int]] = {}
    for row in server.rows():
        topic, _, partition = row["_file_name"].removeprefix("kafka:").rpartition("/")
        found.setdefault((topic, int(partition)), []).append(row["_file_row_number"])
    return found


def events(count: int, tag: str) -> list[bytes]:
    return [json.dumps({"event_id": f"{tag}-{n}", "n": n}).encode() for n in range(count)]


# ------------------------------------------------------------------ the channel logic


def test_every_record_lands_once_in_its_partitions_channel(kafka_bootstrap):
    settings = settings_for(kafka_bootstrap)
    acked = produce(settings, "orders", events(150, "o"))
    acked |= produce(settings, "payments", events(90, "p"))
    server = FakeSnowflake()
    loader = loader_for(settings, server)
    try:
        load_until(loader, server, 240)
        assert loader.pending() == 0
    finally:
        loader.close()

    committed = committed_by_channel(server)
    assert set(committed) == set(acked) and len(acked) == 2 * PARTITIONS
    for key, offsets in committed.items():
        assert offsets == sorted(acked[key]), key  # each once, in order, none missing
    by_offset = {(r["_file_name"], r["_file_row_number"]): r for r in server.rows()}
    for (topic, partition), values in acked.items():
        table = topic.removeprefix(settings.topic_prefix)
        for offset, value in values.items():
            row = by_offset[(f"kafka:{topic}/{partition}", offset)]
            assert row["_line"] == value.decode()
            assert row in server.rows(f"{table}_streaming")
        # The channel's committed token is its last offset.
        token = server.channels[(f"{table}_streaming", f"{settings.group_id}.{topic}.{partition}")]
        assert token.token == str(max(values))


@pytest.mark.parametrize("in_flight", ["lost", "committed late", "committed during the restart"])
def test_a_restart_resumes_after_the_committed_token_and_commits_no_offset_twice(
    kafka_bootstrap, in_flight
):
    """A crash with 60 records appended and not committed: they are lost with
    the process (sent again once by the next), or Snowflake commits them after
    it died, before the next process starts or while it does (after it read the
    committed tokens, before it opened the channels): the next sends none of
    them again."""
    settings = settings_for(kafka_bootstrap)
    acked = produce(settings, "orders", events(120, "first"))
    server = FakeSnowflake()
    first = loader_for(settings, server)
    load_until(first, server, 120)  # committed
    committed_before = {key: max(offsets) for key, offsets in committed_by_channel(server).items()}

    more = produce(settings, "orders", events(60, "second"))
    load_until(first, None, 60)  # appended, never committed: then the process dies
    first.feed.close()
    assert sum(len(offsets) for offsets in committed_by_channel(server).values()) == 120
    assert sum(len(rows) for *_, rows in server.appends) == 180
    if in_flight == "lost":
        server.crash()
    elif in_flight == "committed late":
        assert server.commit() == 60
    else:
        server.commit_before_next_open = "orders_streaming"
    resent = 60 if in_flight == "lost" else 0
    calls_before = len(server.appends)

    second = loader_for(settings, server)
    read: list[tuple[str, int, int]] = []
    poll = second.feed.poll
    second.feed.poll = lambda *args: [
        read.append((m.topic, m.partition, m.offset)) or m for m in poll(*args)
    ]
    try:
        # While it starts, only the channels' opening may commit the dead one's rows.
        during = in_flight == "committed during the restart"
        reports = load_until(second, None if during else server, resent)
    finally:
        second.close()
    assert server.commit_before_next_open is None  # it did open the channels
    # It read each partition from after the token committed before it started.
    for topic, partition, offset in read:
        assert offset > committed_before[(topic, partition)]
    for key, values in more.items():
        acked.setdefault(key, {}).update(values)

    committed = committed_by_channel(server)
    for key, offsets in committed.items():
        assert offsets == sorted(acked[key]), key
        assert Counter(offsets).most_common(1)[0][1] == 1
    # The second process appended exactly what was not committed: from each
    # channel's committed token + 1, nothing before it, nothing twice.
    assert sum(r.rows_loaded + r.rows_rejected for r in reports) == resent
    by_second = server.appends[calls_before:]
    assert len({generation for *_, generation, _ in by_second}) <= 1
    sent = [(name, row["_file_row_number"]) for _, name, _, rows in by_second for row in rows]
    assert len(sent) == len(set(sent)) == resent
    for name, offset in sent:
        topic, partition = name.removeprefix(f"{settings.group_id}.").rsplit(".", 1)
        assert offset > committed_before[(topic, int(partition))]


BAD_RECORDS = [
    (b"not json {", "malformed JSON"),
    (b"[1, 2]", "not a JSON object"),
    (b'{"order_id": "o1"}', "missing required field event_id"),
    (b'{"event_id": 5}', "wrong type for event_id: UBIGINT"),
    (b'{"event_id": "x\xff"}', "invalid UTF-8 at byte 15"),
    (
        b'{"event_id": "big", "pad": "' + b"x" * MAX_EVENT_BYTES + b'"}',
        "oversized: 1,048,606 bytes (at most 1,048,576)",
    ),
    (None, "no value (a tombstone)"),
    (b"   ", "empty line"),
]


def test_bad_records_are_accounted_for_with_a_reason_and_the_consumer_goes_on(kafka_bootstrap):
    settings = settings_for(kafka_bootstrap)
    values = [value for value, _ in BAD_RECORDS] + events(3, "good")
    acked = produce(settings, "orders", values, partition=0)
    [(key, offsets)] = acked.items()
    server = FakeSnowflake()
    loader = loader_for(settings, server)
    try:
        reports = load_until(loader, server, len(values))
    finally:
        loader.close()

    assert sum(r.rows_loaded for r in reports) == 3
    assert sum(r.rows_rejected for r in reports) == len(BAD_RECORDS)
    reasons = {(r.topic, r.partition, r.offset): r.reason for r in loader.rejections}
    first = min(offsets)
    for number, (_, expected) in enumerate(BAD_RECORDS):
        assert reasons[(*key, first + number)].startswith(expected)
    # Every record lands, the bad ones too (staging keeps those in quarantine).
    assert committed_by_channel(server)[key] == sorted(offsets)
    lines = {row["_file_row_number"]: row["_line"] for row in server.rows()}
    assert lines[first + 6] is None and lines[first + 5] is None  # tombstone, oversized
    assert lines[first] == "not json {"
    assert [lines[first + len(BAD_RECORDS) + n] for n in range(3)] == [
        value.decode() for value in events(3, "good")
    ]


def test_classify_gives_the_embedded_pipes_reasons():
    """The pure-Python classifier against DuckDB's (the shared known_reason + CLASSIFY_LINES)."""
    import duckdb
    import pyarrow as pa

    from snowcart.engines.duckdb.pipe import CLASSIFY_LINES
    from snowcart.stages.records import known_reason

    values = [value for value, _ in BAD_RECORDS] + events(2, "ok") + [b'{"event_id": null}']
    values += [b'{"event_id": 1.5}', b'{"event_id": true}', b'"text"', b"", b'{"event_id": []}',
               b'{"event_id": -3}', b'{"event_id": 18446744073709551616}', b'{"event_id": {}}']  # fmt: skip
    pairs = [known_reason(value) for value in values]
    arrow = pa.table(  # noqa: F841 (read by DuckDB by name)
        {
            "line_number": pa.array(range(len(values)), pa.int64()),
            "line": pa.array([found.text for found in pairs], pa.string()),
            "known_reason": pa.array([found.reason for found in pairs], pa.string()),
        }
    )
    with duckdb.connect() as con:
        duck = con.execute(
            "select reject_reason from (" + CLASSIFY_LINES.format(source="arrow") + ") "
            "order by line_number"
        ).fetchall()
    assert [classify(value).reason for value in values] == [reason for (reason,) in duck]


def test_the_rows_carry_the_columns_the_streaming_pipe_reads():
    row, reason = landing_row(Message("t", 2, 41, b'{"event_id": "e"}'), "2026-01-01T00:00:00")
    assert reason is None
    assert row == {
        "_line": '{"event_id": "e"}',
        "_file_name": "kafka:t/2",
        "_file_row_number": 41,
        "_loaded_at": "2026-01-01T00:00:00",
    }
    assert list(row) == COPIED_COLUMNS


# ------------------------------------------------------------------ the SDK's interface


def test_the_double_has_the_sdks_method_names_and_parameters():
    streaming = pytest.importorskip("snowflake.ingest.streaming")

    def parameters(function) -> list[tuple[str, object]]:
        return [
            (name, parameter.default)
            for name, parameter in inspect.signature(function).parameters.items()
            # the SDK's internal flag, and the double's own server
            if not name.startswith("_") and parameter.kind != parameter.KEYWORD_ONLY
        ]

    pairs = [
        (streaming.StreamingIngestClient, FakeStreamingIngestClient),
        (streaming.StreamingIngestChannel, FakeStreamingIngestChannel),
    ]
    for real, double in pairs:
        # A channel comes from open_channel only: its constructor is no interface.
        constructor = ["__init__"] if double is FakeStreamingIngestClient else []
        methods = constructor + [
            name
            for name in vars(double)
            if callable(getattr(double, name)) and not name.startswith("_")
        ]
        assert len(methods) >= 4
        for name in methods:
            assert hasattr(real, name), f"{real.__name__} has no {name}"
            assert parameters(getattr(double, name)) == parameters(getattr(real, name)), name
    assert isinstance(
        inspect.getattr_static(streaming.ChannelStatus, "latest_committed_offset_token"), property
    )


def test_the_real_client_signs_in_with_the_connections_key_pair(tmp_path):
    key = tmp_path / "rsa_key.p8"
    key.write_text("not read here")
    env = {"SNOWFLAKE_ACCOUNT": "org-acct", "SNOWFLAKE_USER": "LOADER",
           "SNOWFLAKE_PRIVATE_KEY_PATH": str(key)}  # fmt: skip
    properties = SnowflakeConfig.from_env(env).streaming_properties()
    assert properties == {
        "account": "org-acct",
        "user": "LOADER",
        "url": "https://org-acct.snowflakecomputing.com",
        "role": "SNOWCART_LOADER",
        "authorization_type": "JWT",
        "private_key_file": str(key),
    }
    with pytest.raises(ConfigError, match="key pair"):
        SnowflakeConfig.from_env({**env, "SNOWFLAKE_PRIVATE_KEY_PATH": "",
                                  "SNOWFLAKE_PASSWORD": "pw"}).streaming_properties()  # fmt: skip
    with pytest.raises(ConfigError, match="fakesnow"):
        SnowflakeConfig.for_fakesnow(1).streaming_properties()


def test_kafka_on_snowflake_picks_the_snowflake_engine(tmp_path):
    from dataclasses import replace

    from snowcart.engines import engine_for
    from snowcart.engines.snowflake import SnowflakeEngine
    from snowcart.settings import Settings

    settings = replace(Settings.locate("snowflake", str(tmp_path)), kafka=KafkaSettings("h:1"))
    assert isinstance(engine_for(settings), SnowflakeEngine)


# ------------------------------------------------------------------ setup and the connector


def setup(*args: str, **env: str):
    return run([sys.executable, "scripts/setup.py", *args], timeout=120, **env)


def test_setup_creates_the_streaming_pipes_and_grants_the_loader_them():
    result = setup("--target", "snowflake", "--dry-run", SNOWFLAKE_DATABASE="")
    assert result.returncode == 0, result.stderr
    statements = [
        " ".join(part.split())
        for part in "\n".join(
            line for line in result.stdout.splitlines() if not line.startswith("--")
        ).split(";")
        if part.strip()
    ]
    for table in landing_tables():
        for pipe, selected in [
            (f"{table}_streaming", [f"GET_PATH($1, '{column}')" for column in COPIED_COLUMNS]),
            (table, None),
        ]:
            [create] = [s for s in statements if s.startswith(f"CREATE PIPE IF NOT EXISTS SNOWCART.raw.{pipe} AS ")]  # fmt: skip
            copy = sqlglot.parse_one(create[create.index("COPY INTO") :], read="snowflake")
            assert isinstance(copy, exp.Copy)
            assert copy.this.this.sql() == f"SNOWCART.raw.{table}"
            assert [c.name for c in copy.this.expressions] == COPIED_COLUMNS
            assert "FROM TABLE(DATA_SOURCE(TYPE => 'STREAMING'))" in create
            if selected:
                select = copy.find(exp.Select)
                paths = [e.this.sql("snowflake") for e in select.expressions]  # under the casts
                assert paths == selected
            assert (
                f"GRANT OPERATE ON PIPE SNOWCART.raw.{pipe} TO ROLE SNOWCART_LOADER" in statements
            )


def test_kafka_connector_config_maps_every_table_with_key_pair_auth_and_no_secret(tmp_path):
    key = tmp_path / "rsa_key.p8"
    key.write_text("-----BEGIN PRIVATE KEY-----\nSECRETKEYMATERIAL\n-----END PRIVATE KEY-----\n")
    out = tmp_path / "connector.json"
    env = {"SNOWFLAKE_ACCOUNT": "org-acct", "SNOWFLAKE_USER": "KAFKA_LOADER",
           "SNOWFLAKE_PRIVATE_KEY_PATH": str(key),
           "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": "hunter2-passphrase"}  # fmt: skip
    result = setup("--target", "snowflake", "--kafka-connector-config", str(out),
                   "--topic-prefix", "shop.", "--topic-map", "orders=orders-v2", **env)  # fmt: skip
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "SECRETKEYMATERIAL" not in text and "hunter2" not in text
    config = json.loads(text)["config"]
    expected = {("orders-v2" if t == "orders" else f"shop.{t}"): t for t in landing_tables()}
    mapped = dict(pair.split(":") for pair in config["snowflake.topic2table.map"].split(","))
    assert mapped == expected
    assert config["topics"].split(",") == list(expected)
    assert config["snowflake.ingestion.method"] == "SNOWPIPE_STREAMING"
    assert config["snowflake.private.key"] == "${env:SNOWFLAKE_PRIVATE_KEY}"
    assert config["snowflake.private.key.passphrase"] == "${env:SNOWFLAKE_PRIVATE_KEY_PASSPHRASE}"
    assert config["snowflake.user.name"] == "KAFKA_LOADER"
    assert config["snowflake.role.name"] == "SNOWCART_LOADER"
    assert config["snowflake.url.name"] == "org-acct.snowflakecomputing.com:443"
    assert config["snowflake.database.name"] == "SNOWCART"
    assert config["value.converter"] == "org.apache.kafka.connect.json.JsonConverter"
    assert "password" not in text.lower()

    printed = setup("--target", "snowflake", "--kafka-connector-config",
                    **{**env, "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE": ""})  # fmt: skip
    assert printed.returncode == 0, printed.stderr
    config = json.loads(printed.stdout)["config"]
    assert "snowflake.private.key.passphrase" not in config
    assert set(config["topics"].split(",")) == {f"snowcart.{t}" for t in landing_tables()}

    refused = setup("--target", "snowflake", "--kafka-connector-config", SNOWFLAKE_ACCOUNT="",
                    SNOWFLAKE_USER="")  # fmt: skip
    assert refused.returncode == 1
    assert refused.stderr.strip().splitlines() == [
        "error: the Kafka connector configuration needs SNOWFLAKE_ACCOUNT, SNOWFLAKE_USER "
        "(the connector's user signs in with a key pair; see docs/snowflake.md)"
    ]
