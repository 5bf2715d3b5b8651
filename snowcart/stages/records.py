"""Whether a Kafka record is a shop event, in plain Python: the reasons the
embedded pipe gives a line (snowcart/engines/duckdb/pipe.py, CLASSIFY_LINES,
and kafka_load.known_reason), for loaders that classify before they send
(Snowpipe Streaming: snowcart/engines/snowflake/kafka_streaming.py).

Python's JSON parser decides what is JSON here; DuckDB's `json_valid` agrees on
every line the tests try (tests/python/test_kafka_streaming.py) but is not the
same code, so a reason may differ on exotic input (NaN, say)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from snowcart.stages import lines
from snowcart.stages.kafka import MAX_EVENT_BYTES

REQUIRED_FIELD = "event_id"
# What is kept of a record too large to be an event.
KEPT_CHARACTERS = 1000

# DuckDB's json_type names, so a reason reads the same on either engine.
JSON_TYPES = {bool: "BOOLEAN", float: "DOUBLE", str: "VARCHAR", list: "ARRAY", dict: "OBJECT"}


@dataclass(frozen=True)
class Classified:
    """A record's text (None: no value, or nothing kept) and why it is no
    event (None: it is one)."""

    text: str | None
    reason: str | None


def source_name(topic: str, partition: int) -> str:
    """What `_file_name` and a load error's file name say for a record."""
    return f"kafka:{topic}/{partition}"


def known_reason(value: bytes | None) -> Classified:
    """The record's text, and why it cannot be an event before it is parsed
    (no value, oversized, not UTF-8): both engines' loaders start here."""
    if value is None:
        return Classified(None, "no value (a tombstone)")
    if len(value) > MAX_EVENT_BYTES:
        text = value[:KEPT_CHARACTERS].decode("utf-8", errors="replace")
        return Classified(text, f"oversized: {len(value):,} bytes (at most {MAX_EVENT_BYTES:,})")
    return Classified(*lines.decode(value))


def classify(value: bytes | None) -> Classified:
    found = known_reason(value)
    if found.reason is not None:
        return found
    text = found.text
    if text is None or not text.strip(" "):
        return Classified(text, "empty line")
    try:
        event = json.loads(text)
    except ValueError:
        return Classified(text, "malformed JSON")
    if not isinstance(event, dict):
        return Classified(text, "not a JSON object")
    found = event.get(REQUIRED_FIELD)
    if found is None:
        return Classified(text, f"missing required field {REQUIRED_FIELD}")
    if not isinstance(found, str):
        return Classified(text, f"wrong type for {REQUIRED_FIELD}: {json_type(found)}")
    return Classified(text, None)


def json_type(value: object) -> str:
    """DuckDB's name for a JSON value's type (an integer beyond 64 bits is a DOUBLE there)."""
    if isinstance(value, int) and not isinstance(value, bool):
        if 0 <= value < 1 << 64:
            return "UBIGINT"
        return "BIGINT" if -(1 << 63) <= value < 0 else "DOUBLE"
    return JSON_TYPES.get(type(value), type(value).__name__.upper())
