"""Kafka topics as the stage: one topic per landing table (`<prefix><table>`,
or an explicit table → topic map). The producer's side writes each batch's
events with an idempotent producer, keyed by the entity they belong to (an
order's events stay in one partition, in order); the ledger records a batch
only once the broker acknowledged every event of it. The embedded engine's
side (`TopicFeed`) reads the topics in batches and starts every partition it
is assigned at the offset the warehouse stored with the rows it loaded
(snowcart/engines/duckdb/kafka_load.py), so Kafka's own committed offsets
never decide what is loaded; they are committed too, after the warehouse's
commit, so lag tools see progress.

Connection settings come from the flags and the environment, never the
repository: SNOWCART_KAFKA_SECURITY_PROTOCOL, SNOWCART_KAFKA_SASL_MECHANISM,
SNOWCART_KAFKA_SASL_USERNAME, SNOWCART_KAFKA_SASL_PASSWORD."""

from __future__ import annotations

import contextlib
import json
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from snowcart.errors import ConfigError
from snowcart.sources.generator.faults import KEY_FIELD
from snowcart.stages.local import LocalStage, StagedFile

DEFAULT_TOPIC_PREFIX = "snowcart."
DEFAULT_PARTITIONS = 3
# An event larger than this is no shop event: rejected with a reason, not loaded.
MAX_EVENT_BYTES = 1 << 20
# How long a metadata or admin call may take before the broker counts as unreachable.
CONNECT_TIMEOUT_S = 10.0
# The environment variable behind each librdkafka setting that holds credentials.
SECURITY_ENVIRONMENT = {
    "security.protocol": "SNOWCART_KAFKA_SECURITY_PROTOCOL",
    "sasl.mechanism": "SNOWCART_KAFKA_SASL_MECHANISM",
    "sasl.username": "SNOWCART_KAFKA_SASL_USERNAME",
    "sasl.password": "SNOWCART_KAFKA_SASL_PASSWORD",
}


QUIET_LOG = logging.getLogger("snowcart.kafka")
QUIET_LOG.addHandler(logging.NullHandler())
QUIET_LOG.propagate = False


@dataclass(frozen=True)
class KafkaSettings:
    """Where the topics are and how to reach them."""

    bootstrap_servers: str
    topic_prefix: str = DEFAULT_TOPIC_PREFIX
    group_id: str = "snowcart"
    # Explicit table → topic names; a table not named gets `<prefix><table>`.
    topic_map: Mapping[str, str] = field(default_factory=dict)
    partitions: int = DEFAULT_PARTITIONS

    def topic_for(self, table: str) -> str:
        return self.topic_map.get(table) or f"{self.topic_prefix}{table}"

    def topics(self, tables: list[str]) -> dict[str, str]:
        """topic → table for the landing tables."""
        return {self.topic_for(table): table for table in tables}

    def client_config(self, environ: Mapping[str, str] = os.environ) -> dict[str, object]:
        # The client's own log lines stay out of the terminal: what fails
        # reaches the caller as an error, said once.
        config: dict[str, object] = {"bootstrap.servers": self.bootstrap_servers,
                                     "logger": QUIET_LOG}  # fmt: skip
        for setting, variable in SECURITY_ENVIRONMENT.items():
            if environ.get(variable):
                config[setting] = environ[variable]
        return config


def parse_topic_map(text: str) -> dict[str, str]:
    """`orders=shop.orders,customers=shop.customers` → {table: topic}."""
    mapping = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        table, sep, topic = item.partition("=")
        if not sep or not table.strip() or not topic.strip():
            raise ValueError(f"{item!r} is not table=topic")
        mapping[table.strip()] = topic.strip()
    return mapping


def kafka_error(error: object, what: str) -> ConfigError:
    """One line for a refused or unreachable Kafka call."""
    from confluent_kafka import KafkaError, KafkaException

    detail = error.args[0] if isinstance(error, KafkaException) and error.args else error
    if isinstance(detail, KafkaError):
        code = detail.code()
        if code in (KafkaError._TRANSPORT, KafkaError._ALL_BROKERS_DOWN, KafkaError._TIMED_OUT):
            return ConfigError(f"{what}: the broker is unreachable ({detail.str()})")
        if code in (KafkaError.SASL_AUTHENTICATION_FAILED, KafkaError._AUTHENTICATION):
            return ConfigError(f"{what}: the broker refused the credentials ({detail.str()})")
        return ConfigError(f"{what}: {detail.str()}")
    return ConfigError(f"{what}: {str(detail).splitlines()[0] if str(detail) else detail!r}")


def _probe(config: dict[str, object], what: str):
    """An admin client whose broker answered a metadata request."""
    from confluent_kafka import KafkaException
    from confluent_kafka.admin import AdminClient

    errors: list[str] = []
    admin = AdminClient({**config, "error_cb": lambda error: errors.append(error.str())})
    try:
        metadata = admin.list_topics(timeout=CONNECT_TIMEOUT_S)
    except KafkaException as error:
        detail = error.args[0] if error.args else error
        reason = errors[-1] if errors else getattr(detail, "str", lambda: str(detail))()
        raise ConfigError(
            f"{what}: the broker at {config['bootstrap.servers']} did not answer within "
            f"{CONNECT_TIMEOUT_S:.0f} s ({reason})"
        ) from error
    return admin, metadata


def ensure_topics(settings: KafkaSettings, tables: list[str]) -> None:
    """Create the landing tables' topics that do not exist yet (the producer's setup)."""
    from confluent_kafka.admin import NewTopic

    admin, metadata = _probe(settings.client_config(), "cannot reach Kafka")
    missing = [topic for topic in settings.topics(tables) if topic not in metadata.topics]
    if not missing:
        return
    futures = admin.create_topics(
        [NewTopic(topic, num_partitions=settings.partitions) for topic in missing],
        operation_timeout=CONNECT_TIMEOUT_S,
    )
    for topic, future in futures.items():
        try:
            future.result(timeout=CONNECT_TIMEOUT_S)
        except Exception as error:  # noqa: BLE001 (an existing topic is fine; the rest is said)
            if "TOPIC_ALREADY_EXISTS" not in str(error):
                raise kafka_error(error, f"cannot create topic {topic}") from error


def partitions_of(settings: KafkaSettings, tables: list[str]):
    """An admin client, and topic → its partition ids; an unknown topic is a one-line error."""
    admin, metadata = _probe(settings.client_config(), "cannot reach Kafka")
    found = {}
    for topic in settings.topics(tables):
        if topic not in metadata.topics or metadata.topics[topic].error is not None:
            raise ConfigError(
                f"unknown Kafka topic {topic}: create it, or start the producer first "
                "(simulate.py --sink kafka creates the topics it writes)"
            )
        found[topic] = sorted(metadata.topics[topic].partitions)
    return admin, found


def end_offsets(admin, partitions: dict[str, list[int]]) -> dict[tuple[str, int], int]:
    """The end (high watermark) of every partition of the topics, in one request."""
    from confluent_kafka import KafkaException, TopicPartition
    from confluent_kafka.admin import OffsetSpec

    wanted = {
        TopicPartition(topic, partition): OffsetSpec.latest()
        for topic, numbers in partitions.items()
        for partition in numbers
    }
    try:
        answers = admin.list_offsets(wanted, request_timeout=CONNECT_TIMEOUT_S)
        return {
            (partition.topic, partition.partition): future.result().offset
            for partition, future in answers.items()
        }
    except KafkaException as error:
        raise kafka_error(error, "cannot read the topics' offsets") from error


def topic_ends(settings: KafkaSettings, tables: list[str]) -> dict[tuple[str, int], int]:
    """Each partition's end, as the broker reports it (reconcile's count of what is left)."""
    return end_offsets(*partitions_of(settings, tables))


def event_key(table: str, line: str) -> bytes | None:
    """The entity an event belongs to: its order where it names one (an order's
    events in one partition, in order), else its table's key; None for a line
    that is no JSON object (it still goes to the topic, to be rejected there)."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    key = event.get("order_id") or event.get(KEY_FIELD.get(table, "event_id"))
    return None if key is None else str(key).encode("utf-8")


class KafkaSink:
    """The producer's side: a batch's events to their table's topic; returns
    only when the broker acknowledged every one (then the ledger records it).
    Idempotent: the client's retries never write an event twice. A batch sent
    again after a crash (before its ledger line) is sent again whole: the
    copies share their event_ids, and staging keeps the first."""

    def __init__(self, settings: KafkaSettings, tables: list[str]) -> None:
        from confluent_kafka import Producer

        self.settings = settings
        ensure_topics(settings, tables)
        self._producer = Producer(
            {
                **settings.client_config(),
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                "compression.type": "lz4",
            }
        )

    def write(self, table: str, batch_number: int, lines: list[str]) -> StagedFile:
        from confluent_kafka import KafkaException

        topic = self.settings.topic_for(table)
        failures: list[str] = []

        def delivered(error, message) -> None:
            if error is not None:
                failures.append(error.str())

        headers = [("snowcart-batch", str(batch_number).encode())]
        try:
            for line in lines:
                self._produce(topic, line, event_key(table, line), headers, delivered)
            left = self._producer.flush(CONNECT_TIMEOUT_S * 6)
        except KafkaException as error:
            raise kafka_error(error, f"cannot write to topic {topic}") from error
        if failures or left:
            reason = failures[0] if failures else f"{left} events unacknowledged"
            raise ConfigError(f"cannot write to topic {topic}: {reason}")
        return StagedFile(table, Path(LocalStage.batch_file_name(batch_number)))

    def _produce(self, topic: str, line: str, key, headers, delivered: Callable) -> None:
        while True:
            try:
                self._producer.produce(
                    topic, value=line.encode("utf-8"), key=key, headers=headers,
                    on_delivery=delivered,
                )  # fmt: skip
                self._producer.poll(0)
                return
            except BufferError:  # the client's queue is full: let it send
                self._producer.poll(0.1)


@dataclass(frozen=True)
class Message:
    """One record as the warehouse loads it."""

    topic: str
    partition: int
    offset: int
    value: bytes | None


class TopicFeed:
    """The embedded engine's side: a consumer of the landing tables' topics in
    `settings.group_id`. Each partition it is assigned starts at
    `stored_offsets()[(topic, partition)]` (the next offset the warehouse has
    not loaded), or at the beginning when the warehouse holds none of it."""

    def __init__(
        self,
        settings: KafkaSettings,
        tables: list[str],
        stored_offsets: Callable[[], dict[tuple[str, int], int]],
    ) -> None:
        from confluent_kafka import Consumer

        self.settings = settings
        self.topics = settings.topics(tables)
        self._admin, self._partitions = partitions_of(settings, tables)
        self._stored_offsets = stored_offsets
        self._consumer = Consumer(
            {
                **settings.client_config(),
                "group.id": settings.group_id,
                "enable.auto.commit": False,
                "enable.auto.offset.store": False,
                "auto.offset.reset": "earliest",
                "isolation.level": "read_committed",
                "session.timeout.ms": 6000,
                "heartbeat.interval.ms": 1000,
                "fetch.max.bytes": 64 << 20,
                # Whether a partition is read to its end comes from the reads
                # themselves, not from the partitions' reported ends (a broker
                # may report an end behind what it holds: Tansu does).
                "enable.partition.eof": True,
            }
        )
        self.assigned: set[tuple[str, int]] = set()
        # Partitions read to their end since their last record; whether the
        # group assigned this consumer its partitions yet (a restarted consumer
        # waits for the group to drop the one it replaces).
        self.at_end: set[tuple[str, int]] = set()
        self.joined = False
        self._consumer.subscribe(
            list(self.topics), on_assign=self._on_assign, on_revoke=self._on_revoke
        )

    def _on_assign(self, consumer, partitions) -> None:
        from confluent_kafka import OFFSET_BEGINNING

        stored = self._stored_offsets()
        for partition in partitions:
            partition.offset = stored.get((partition.topic, partition.partition), OFFSET_BEGINNING)
        consumer.assign(partitions)
        self.assigned = {(partition.topic, partition.partition) for partition in partitions}
        self.at_end -= self.assigned
        self.joined = True

    def _on_revoke(self, consumer, partitions) -> None:
        revoked = {(partition.topic, partition.partition) for partition in partitions}
        self.assigned -= revoked
        self.at_end -= revoked

    def caught_up(self) -> bool:
        """Every partition this consumer holds is read to its end."""
        return self.joined and self.assigned <= self.at_end

    def poll(self, max_messages: int, timeout_s: float) -> list[Message]:
        """Up to `max_messages` records, waiting up to `timeout_s` for the first."""
        from confluent_kafka import KafkaError

        records = self._consumer.consume(num_messages=max_messages, timeout=timeout_s)
        messages = []
        for record in records:
            error = record.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    self.at_end.add((record.topic(), record.partition()))
                    continue
                if error.fatal() or error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART:
                    raise kafka_error(error, "cannot read the topics")
                continue  # transient (the client retries): the next poll goes on
            self.at_end.discard((record.topic(), record.partition()))
            messages.append(Message(record.topic(), record.partition(), record.offset(),
                                    record.value()))  # fmt: skip
        return messages

    def commit(self, next_offsets: dict[tuple[str, int], int]) -> None:
        """Tell Kafka what the warehouse committed (for lag tools; never read back)."""
        from confluent_kafka import KafkaException, TopicPartition

        owned = [
            TopicPartition(topic, partition, offset)
            for (topic, partition), offset in next_offsets.items()
            if (topic, partition) in self.assigned
        ]
        # A rebalance under way may refuse it: the next commit carries it.
        if owned:
            with contextlib.suppress(KafkaException):
                self._consumer.commit(offsets=owned, asynchronous=True)

    def end_offsets(self) -> dict[tuple[str, int], int]:
        return end_offsets(self._admin, self._partitions)

    def close(self) -> None:
        self._consumer.close()
