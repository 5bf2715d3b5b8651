"""FakeStreamingIngestClient and FakeStreamingIngestChannel: a TEST DOUBLE of
snowflake.ingest.streaming's documented interface (the `snowpipe-streaming`
SDK: StreamingIngestClient, StreamingIngestChannel, ChannelStatus). It proves
the loader's channel and offset logic (snowcart/engines/snowflake/
kafka_streaming.py), not the SDK and not Snowflake: no account is reachable
here. test_kafka_streaming.py checks that its methods have the SDK's names and
parameters.

What it models, after Snowflake's documented channel semantics:
- a channel per name per pipe; rows appended to it wait in a buffer until
  `FakeSnowflake.commit()` (Snowflake committing them, seconds later in an
  account), when they join the pipe's rows together with their end offset
  token, all or nothing;
- reopening a channel (a restart, or another owner) invalidates the earlier
  handle and drops what it left uncommitted, and its status carries the
  latest committed token; an invalidated handle refuses appends;
- `wait_for_commit` and `close(wait_for_flush=True)` commit (an account does
  so within seconds); `FakeSnowflake.crash()` is the client process dying
  with rows appended and not committed (they are lost)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class FakeChannelStatus:
    """The fields of ChannelStatus the loader reads."""

    channel_name: str
    latest_committed_offset_token: str | None
    status_code: str = "SUCCESS"


@dataclass
class CommittedChannel:
    token: str | None = None
    rows: list[dict[str, Any]] = field(default_factory=list)
    # Bumped by every open: older handles are invalid.
    generation: int = 0


class FakeSnowflake:
    """The server side the doubles share: per (pipe, channel), what is committed."""

    def __init__(self) -> None:
        self.channels: dict[tuple[str, str], CommittedChannel] = {}
        self.open_handles: list[FakeStreamingIngestChannel] = []
        # Every append_rows call: (pipe, channel, handle generation, its rows).
        self.appends: list[tuple[str, str, int, list[dict[str, Any]]]] = []
        # A pipe: before the next channel of it opens, every valid handle
        # commits (a dead process's rows committing after a restart asked where
        # to go on, before it opened the channel).
        self.commit_before_next_open: str | None = None

    def channel(self, pipe: str, name: str) -> CommittedChannel:
        return self.channels.setdefault((pipe, name), CommittedChannel())

    def commit(self) -> int:
        """Commit every valid handle's buffered rows; how many rows it committed."""
        return sum(handle._commit() for handle in self.open_handles)

    def crash(self) -> None:
        """The client process dies: what its channels had not committed is gone."""
        for handle in self.open_handles:
            handle._buffer.clear()
            handle.closed = True

    def rows(self, pipe: str | None = None) -> list[dict[str, Any]]:
        return [
            row
            for (pipe_name, _), channel in sorted(self.channels.items())
            if pipe in (None, pipe_name)
            for row in channel.rows
        ]


class FakeStreamingIngestChannel:
    def __init__(self, server: FakeSnowflake, pipe: str, name: str) -> None:
        self._server, self._pipe, self._name = server, pipe, name
        self._state = server.channel(pipe, name)
        self._state.generation += 1
        self._generation = self._state.generation
        self._buffer: list[tuple[list[dict[str, Any]], str | None]] = []
        self.closed = False
        server.open_handles.append(self)

    @property
    def valid(self) -> bool:
        return not self.closed and self._generation == self._state.generation

    def append_rows(
        self,
        rows: list[dict[str, Any]],
        start_offset_token: str | None = None,
        end_offset_token: str | None = None,
    ) -> None:
        if not self.valid:
            raise RuntimeError(f"channel {self._name} is invalid (reopened or closed)")
        self._buffer.append(([dict(row) for row in rows], end_offset_token))
        self._server.appends.append((self._pipe, self._name, self._generation, list(rows)))

    def _commit(self) -> int:
        if not self.valid:
            self._buffer.clear()  # what an invalidated handle held is gone
            return 0
        count = 0
        for rows, token in self._buffer:
            self._state.rows.extend(rows)
            count += len(rows)
            if token is not None:
                self._state.token = token
        self._buffer.clear()
        return count

    def get_latest_committed_offset_token(self) -> str | None:
        return self._state.token

    def get_channel_status(self) -> FakeChannelStatus:
        return FakeChannelStatus(self._name, self._state.token)

    def wait_for_commit(
        self, token_checker: Callable[[str], bool], timeout_seconds: int | None = None
    ) -> None:
        self._commit()
        if not token_checker(self._state.token):
            raise TimeoutError("Wait for commit timed out")

    def initiate_flush(self) -> None:
        pass

    def wait_for_flush(self, timeout_seconds: int | None = None) -> None:
        self._commit()

    def close(
        self, drop: bool = False, wait_for_flush: bool = True, timeout_seconds: int | None = None
    ) -> None:
        if wait_for_flush:
            self._commit()
        self.closed = True


class FakeStreamingIngestClient:
    def __init__(
        self,
        client_name: str,
        db_name: str,
        schema_name: str,
        pipe_name: str,
        profile_json: str | None = None,
        properties: dict[str, Any] | None = None,
        *,
        server: FakeSnowflake,
    ) -> None:
        self.client_name, self.db_name = client_name, db_name
        self.schema_name, self.pipe_name = schema_name, pipe_name
        self._server = server
        self.closed = False

    def open_channel(
        self, channel_name: str, offset_token: str | None = None
    ) -> tuple[FakeStreamingIngestChannel, FakeChannelStatus]:
        if self._server.commit_before_next_open == self.pipe_name:
            self._server.commit_before_next_open = None
            self._server.commit()
        channel = FakeStreamingIngestChannel(self._server, self.pipe_name, channel_name)
        return channel, channel.get_channel_status()

    def get_latest_committed_offset_tokens(self, channel_names: list[str]) -> dict[str, str | None]:
        return {
            name: self._server.channels.get((self.pipe_name, name), CommittedChannel()).token
            for name in channel_names
        }

    def close(self, wait_for_flush: bool = True, timeout_seconds: int | None = None) -> None:
        self.closed = True
