"""`setup.py --target snowflake --kafka-connector-config`: for teams that run
Kafka Connect, a Snowflake Kafka connector configuration (the JSON body of
Kafka Connect's `POST /connectors`) from the same settings as the rest of the
setup: every landing table's topic mapped to its table, Snowpipe Streaming
(exactly once: the connector keeps each partition's offset token in its
channel), key-pair auth as the loader role.

No secret is ever written: the private key (and its passphrase, if the key
has one) is a reference Kafka Connect's environment-variable config provider
resolves on the worker (`${env:SNOWFLAKE_PRIVATE_KEY}`; docs/snowflake.md)."""

from __future__ import annotations

import os
from collections.abc import Mapping

from snowcart.engines.snowflake.plan import LOADER, SnowflakePlan
from snowcart.errors import ConfigError
from snowcart.stages.kafka import KafkaSettings

CONNECTOR_CLASS = "com.snowflake.kafka.connector.SnowflakeSinkConnector"
# What the worker's config provider reads (the key's PEM body, no header lines).
PRIVATE_KEY_VARIABLE = "SNOWFLAKE_PRIVATE_KEY"
PASSPHRASE_VARIABLE = "SNOWFLAKE_PRIVATE_KEY_PASSPHRASE"
# Records that are no JSON cannot be converted: they go to this topic, with
# the reason in the record's headers, and the connector goes on.
DEAD_LETTER_SUFFIX = "load_errors"


def connector_config(
    plan: SnowflakePlan, kafka: KafkaSettings, env: Mapping[str, str] | None = None
) -> dict[str, object]:
    env = os.environ if env is None else env
    missing = [name for name in ("SNOWFLAKE_ACCOUNT", "SNOWFLAKE_USER") if not env.get(name)]
    if missing:
        raise ConfigError(
            f"the Kafka connector configuration needs {', '.join(missing)} "
            "(the connector's user signs in with a key pair; see docs/snowflake.md)"
        )
    account = env["SNOWFLAKE_ACCOUNT"]
    topics = kafka.topics(list(plan.tables))
    config: dict[str, str] = {
        "connector.class": CONNECTOR_CLASS,
        "tasks.max": str(kafka.partitions),
        "topics": ",".join(topics),
        "snowflake.topic2table.map": ",".join(f"{t}:{table}" for t, table in topics.items()),
        "snowflake.url.name": f"{account}.snowflakecomputing.com:443",
        "snowflake.user.name": env["SNOWFLAKE_USER"],
        "snowflake.role.name": LOADER,
        "snowflake.private.key": f"${{env:{PRIVATE_KEY_VARIABLE}}}",
        "snowflake.database.name": plan.database,
        "snowflake.schema.name": plan.raw,
        "snowflake.ingestion.method": "SNOWPIPE_STREAMING",
        "snowflake.enable.schematization": "false",
        "key.converter": "org.apache.kafka.connect.storage.StringConverter",
        "value.converter": "org.apache.kafka.connect.json.JsonConverter",
        "value.converter.schemas.enable": "false",
        # Seconds, records and bytes a partition buffers before it is sent: about
        # the latency of the 1-minute marts' refresh floor, and far below it.
        "buffer.flush.time": "10",
        "buffer.count.records": "10000",
        "buffer.size.bytes": "20000000",
        "errors.tolerance": "all",
        "errors.log.enable": "true",
        "errors.deadletterqueue.topic.name": f"{kafka.topic_prefix}{DEAD_LETTER_SUFFIX}",
        "errors.deadletterqueue.context.headers.enable": "true",
    }
    if env.get(PASSPHRASE_VARIABLE):
        config["snowflake.private.key.passphrase"] = f"${{env:{PASSPHRASE_VARIABLE}}}"
    return {"name": f"snowcart-{plan.database.lower()}", "config": config}
