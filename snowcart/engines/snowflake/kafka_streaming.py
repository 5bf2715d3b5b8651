"""Kafka topics into Snowflake through Snowpipe Streaming (PyPI
`snowpipe-streaming`, the high-performance architecture): the consumer of
snowcart/stages/kafka.py appends each record to the channel of its (topic,
partition), on the client of its landing table's streaming pipe (setup.py
creates `<table>_streaming`), with its Kafka offset as the offset token.

Exactly once: Snowflake commits a channel's rows with their offset token, all
or nothing. The feed starts each partition at the channel's latest committed
token + 1, and a record at or below what the channel holds is dropped here, so
after a crash the records appended but not committed are sent again, once, and
none that were committed is. A channel is opened (which makes Snowflake drop
what an earlier owner left uncommitted) only when this process first appends
to it, and its status then says where to go on. On a rebalance every open
channel is waited for until it committed what was appended, then closed, so a
partition that moves to another consumer resumes where this one stopped.

Every record lands, the ones that are no event too: as text in `_line`
(`_file_name` = `kafka:<topic>/<partition>`, `_file_row_number` = its offset),
where staging parses it and keeps the ones that are no event, with a reason,
in qrn_shop__unloadable_lines, as for the lines of files. A tombstone or an
oversized record lands with no text (staging says "empty line"); the reason
classify() gives each (snowcart/stages/records.py) is in `rejections`.

Only a test double of the SDK's interface runs this here
(tests/python/streaming_double.py); the real SDK path is untested."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from snowcart.engines.base import LoadReport
from snowcart.stages.kafka import KafkaSettings, Message, TopicFeed
from snowcart.stages.records import classify, source_name

# Records read in one pass at most, and how long a pass waits for the first.
BATCH_RECORDS = 50_000
POLL_S = 0.2
# How long a rebalance or close waits for a channel to commit what it was sent.
COMMIT_TIMEOUT_S = 120
# Reasons that leave no text worth landing (staging names them "empty line").
NO_TEXT = ("no value", "oversized")


class Channel(Protocol):
    """What is used of snowflake.ingest.streaming.StreamingIngestChannel."""

    def append_rows(
        self,
        rows: list[dict[str, Any]],
        start_offset_token: str | None = None,
        end_offset_token: str | None = None,
    ) -> None: ...

    def get_latest_committed_offset_token(self) -> str | None: ...

    def wait_for_commit(self, token_checker, timeout_seconds: int | None = None) -> None: ...

    def close(
        self, drop: bool = False, wait_for_flush: bool = True, timeout_seconds: int | None = None
    ) -> None: ...


class Client(Protocol):
    """What is used of snowflake.ingest.streaming.StreamingIngestClient."""

    def open_channel(self, channel_name: str, offset_token: str | None = None) -> tuple: ...

    def get_latest_committed_offset_tokens(
        self, channel_names: list[str]
    ) -> dict[str, str | None]: ...

    def close(self, wait_for_flush: bool = True, timeout_seconds: int | None = None) -> None: ...


@dataclass(frozen=True)
class Rejection:
    """A record that is no event, where it is and why."""

    topic: str
    partition: int
    offset: int
    reason: str


def channel_name(group_id: str, topic: str, partition: int) -> str:
    """One channel per (topic, partition) and consumer group: a second group
    reading the same topics has channels (and committed tokens) of its own."""
    return f"{group_id}.{topic}.{partition}"


def next_offset(token: str | None) -> int | None:
    """The first offset after a committed token (None: nothing committed)."""
    return None if token is None else int(token) + 1


def landing_row(message: Message, loaded_at: str) -> tuple[dict[str, Any], str | None]:
    """The row a record lands as (the streaming pipe's `$1:<column>`), and why
    it is no event (None: it is one)."""
    found = classify(message.value)
    keep_text = found.reason is None or not found.reason.startswith(NO_TEXT)
    row = {
        "_line": found.text if keep_text else None,
        "_file_name": source_name(message.topic, message.partition),
        "_file_row_number": message.offset,
        "_loaded_at": loaded_at,
    }
    return row, found.reason


class StreamingLoader:
    """The Kafka consumer for Snowflake: `clients` holds one SDK client per
    landing table (each on that table's streaming pipe)."""

    def __init__(
        self, settings: KafkaSettings, tables: list[str], clients: Mapping[str, Client]
    ) -> None:
        self.settings = settings
        self.clients = dict(clients)
        self._channels: dict[tuple[str, int], Channel] = {}
        # (topic, partition) → the next offset to append on an open channel.
        self._next: dict[tuple[str, int], int] = {}
        self.rejections: list[Rejection] = []
        self.feed = TopicFeed(settings, tables, self.stored_offsets)

    def _client(self, topic: str) -> Client:
        return self.clients[self.feed.topics[topic]]

    def _name(self, key: tuple[str, int]) -> str:
        return channel_name(self.settings.group_id, *key)

    def stored_offsets(self) -> dict[tuple[str, int], int]:
        """Where each partition goes on: after what its channel committed. Called
        on every assignment: the channels this process holds are first waited
        for and closed, so what they were sent counts as committed."""
        self.close_channels()
        by_topic: dict[str, list[int]] = {}
        for topic, partition in self.feed.end_offsets():
            by_topic.setdefault(topic, []).append(partition)
        found = {}
        for topic, partitions in by_topic.items():
            names = {self._name((topic, partition)): partition for partition in partitions}
            tokens = self._client(topic).get_latest_committed_offset_tokens(list(names))
            for name, token in tokens.items():
                if (offset := next_offset(token)) is not None:
                    found[(topic, names[name])] = offset
        return found

    def _channel(self, key: tuple[str, int]) -> Channel:
        if key not in self._channels:
            channel, status = self._client(key[0]).open_channel(self._name(key))
            self._channels[key] = channel
            self._next[key] = next_offset(status.latest_committed_offset_token) or 0
        return self._channels[key]

    def load(self, timeout_s: float = POLL_S) -> LoadReport:
        """One batch of records (waiting up to `timeout_s` for the first) appended."""
        report = LoadReport()
        messages = self.feed.poll(BATCH_RECORDS, timeout_s)
        by_partition: dict[tuple[str, int], list[Message]] = {}
        for message in messages:
            by_partition.setdefault((message.topic, message.partition), []).append(message)
        loaded_at = datetime.now(UTC).replace(tzinfo=None).isoformat()
        for key, records in by_partition.items():
            channel = self._channel(key)
            # Sent again after a rebalance or a seek: what the channel holds stays out.
            fresh = sorted(
                (m for m in records if m.offset >= self._next[key]), key=lambda m: m.offset
            )
            if not fresh:
                continue
            rows = []
            for message in fresh:
                row, reason = landing_row(message, loaded_at)
                rows.append(row)
                if reason is None:
                    report.rows_loaded += 1
                else:
                    report.rows_rejected += 1
                    self.rejections.append(Rejection(*key, message.offset, reason))
            channel.append_rows(rows, str(fresh[0].offset), str(fresh[-1].offset))
            self._next[key] = fresh[-1].offset + 1
            table = self.feed.topics[key[0]]
            report.files += 1
            report.files_by_table[table] = report.files_by_table.get(table, 0) + 1
        self.feed.commit(self.committed_offsets())
        return report

    def committed_offsets(self) -> dict[tuple[str, int], int]:
        """The open channels' next offsets after what Snowflake committed (for
        Kafka's lag tools: only committed rows count as consumed)."""
        found = {}
        for key, channel in self._channels.items():
            if (offset := next_offset(channel.get_latest_committed_offset_token())) is not None:
                found[key] = offset
        return found

    def lag(self) -> dict[tuple[str, int], int]:
        """Records each partition holds beyond what Snowflake committed."""
        ends = self.feed.end_offsets()
        committed: dict[tuple[str, int], int] = {}
        for topic in {topic for topic, _ in ends}:
            keys = [key for key in ends if key[0] == topic]
            tokens = self._client(topic).get_latest_committed_offset_tokens(
                [self._name(key) for key in keys]
            )
            for key in keys:
                committed[key] = next_offset(tokens.get(self._name(key))) or 0
        return {key: max(end - committed[key], 0) for key, end in ends.items()}

    def pending(self) -> int:
        """0 once every partition this consumer holds is read to its end (the
        feed's partition-end events, as on the embedded engine) and every open
        channel committed what it was sent; else the records left, at least 1."""
        committed = self.committed_offsets()
        sent = all(committed.get(key, 0) >= offset for key, offset in self._next.items())
        if self.feed.caught_up() and sent:
            return 0
        return max(sum(self.lag().values()), 1)

    def close_channels(self) -> None:
        for key, channel in self._channels.items():
            last = self._next[key] - 1
            if last >= 0:
                channel.wait_for_commit(
                    lambda token, last=last: token is not None and int(token) >= last,
                    timeout_seconds=COMMIT_TIMEOUT_S,
                )
            channel.close()
        self._channels.clear()
        self._next.clear()

    def close(self) -> None:
        try:
            self.close_channels()
        finally:
            self.feed.close()
            for client in self.clients.values():
                client.close()


def streaming_clients(config, database: str, raw: str, tables: list[str]) -> dict[str, Client]:
    """One SDK client per landing table, on its streaming pipe, signed in with
    the connection's key pair (`config`: a SnowflakeConfig)."""
    from snowflake.ingest.streaming import StreamingIngestClient

    properties = config.streaming_properties()
    return {
        table: StreamingIngestClient(
            f"snowcart_{table}", database, raw, f"{table}_streaming", properties=properties
        )
        for table in tables
    }
