"""An S3 prefix as the stage: the producer writes each batch file as an object
(`<prefix><table>/batch-N.ndjson`, the local stage's names), and the embedded
engine brings new objects into its local stage folder, where its pipe loads
them with the semantics every staged file has (snowcart/engines/duckdb/pipe.py:
each file once, in the same transaction as its load history; a name that comes
back with other content is skipped and reported).

Which objects are new comes from the bucket's event notifications on SQS (long
polling, as Snowpipe's AUTO_INGEST) and from listing the prefix, on start and
every `list_every_s`, for notices that were lost (the embedded `ALTER PIPE …
REFRESH`). A notice is deleted from the queue only after the pipe committed
what it announced, so a crash before that has it delivered again, and the load
history skips what is loaded already. Credentials: boto3's standard chain
(environment, profile, instance role), never the repository."""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from urllib.parse import unquote_plus

from snowcart.engines.base import s3_prefix_url
from snowcart.errors import ConfigError
from snowcart.stages.local import LocalStage, StagedFile

DEFAULT_REGION = "us-east-1"
# How often the prefix is listed for objects no notice announced.
LIST_EVERY_S = 30.0
# SQS returns at most 10 notices a call: at most this many calls per pass.
RECEIVES_PER_FETCH = 10


@dataclass(frozen=True)
class S3Location:
    """s3://bucket/prefix/, checked; an endpoint for MinIO, moto, LocalStack."""

    url: str
    endpoint_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", s3_prefix_url(self.url))

    @property
    def bucket(self) -> str:
        return self.url.removeprefix("s3://").split("/", 1)[0]

    @property
    def prefix(self) -> str:
        return self.url.removeprefix("s3://").split("/", 1)[1]

    def client(self, service: str = "s3"):
        import boto3

        region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
        return boto3.client(
            service, endpoint_url=self.endpoint_url, region_name=region or DEFAULT_REGION
        )


def aws_error(error: Exception, what: str) -> ConfigError:
    """One line for a refused or unreachable S3/SQS call."""
    from botocore.exceptions import ClientError

    if isinstance(error, ClientError):
        detail = error.response.get("Error", {})
        reason = f"{detail.get('Code', '?')}: {detail.get('Message', '')}".rstrip(": ")
    else:
        reason = str(error).splitlines()[0]
    return ConfigError(f"{what}: {reason}")


class S3Stage:
    """The producer's side. A batch file is written once: a retry of the same
    batch finds its object and leaves it; an object of that name with other
    content is never overwritten (conditional PUT)."""

    def __init__(self, location: S3Location) -> None:
        self.location = location
        self._s3 = location.client()

    def key_for(self, name: str) -> str:
        return f"{self.location.prefix}{name}"

    def write(self, table: str, batch_number: int, lines: list[str]) -> StagedFile:
        from botocore.exceptions import BotoCoreError, ClientError

        name = f"{table}/{LocalStage.batch_file_name(batch_number)}"
        body = ("\n".join(lines) + "\n").encode("utf-8")
        try:
            self._s3.put_object(
                Bucket=self.location.bucket, Key=self.key_for(name), Body=body, IfNoneMatch="*"
            )
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") != "PreconditionFailed":
                raise aws_error(error, f"cannot write {self.location.url}{name}") from error
            existing = self._s3.get_object(Bucket=self.location.bucket, Key=self.key_for(name))
            if existing["Body"].read() != body:
                raise ConfigError(
                    f"{self.location.url}{name} exists with other content: a batch is never "
                    "overwritten (another producer writes to this prefix?)"
                ) from error
        except BotoCoreError as error:
            raise aws_error(error, f"cannot write {self.location.url}{name}") from error
        return StagedFile(table, Path(name))

    def delete(self, name: str) -> None:
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._s3.delete_object(Bucket=self.location.bucket, Key=self.key_for(name))
        except (BotoCoreError, ClientError) as error:
            raise aws_error(error, f"cannot delete {self.location.url}{name}") from error


@dataclass
class Fetched:
    """What one pass brought into the local stage, and the notices to delete
    once the pipe committed it."""

    receipts: list[str] = field(default_factory=list)
    # "key: reason" for each object announced or listed that is not brought in
    # (deleted before it was read, a folder marker, no plain name): reported once.
    ignored: list[str] = field(default_factory=list)


class S3Mirror:
    """The embedded engine's side: new objects of the prefix, downloaded into
    the local stage folder under their name relative to the prefix (atomically:
    a temporary hidden file, then a rename), the ETag of each kept beside the
    stage so an object is downloaded again only when its content changed."""

    def __init__(
        self,
        location: S3Location,
        stage_root: Path,
        state_path: Path,
        queue_url: str | None = None,
        list_every_s: float = LIST_EVERY_S,
    ) -> None:
        self.location = location
        self.stage_root = stage_root
        self.state_path = state_path
        self.queue_url = queue_url
        self.list_every_s = list_every_s
        self._s3 = location.client()
        self._sqs = location.client("sqs") if queue_url else None
        self._listed_at: float | None = None
        self._seen: list[tuple[str, str]] = []
        self._oldest = None  # when the oldest object not brought in was written
        self._etags: dict[str, str] = (
            json.loads(state_path.read_text(encoding="utf-8")) if state_path.exists() else {}
        )

    def fetch(self, wait_s: int = 0) -> Fetched:
        """Notices first (waiting up to `wait_s` for one), then the listing when it is due."""
        from botocore.exceptions import BotoCoreError, ClientError

        fetched = Fetched()
        try:
            if self._sqs is not None:
                self._receive(fetched, wait_s)
            # What the last `pending()` listed, without listing again.
            seen, self._seen = self._seen, []
            for key, etag in seen:
                if self._etags.get(key) != etag:
                    self._download(key, etag, fetched)
            now = time.monotonic()
            if self._listed_at is None or now - self._listed_at >= self.list_every_s:
                self._list(fetched)
                self._listed_at = now
        except (BotoCoreError, ClientError) as error:
            raise aws_error(error, f"cannot read {self.location.url}") from error
        finally:
            # Once per pass: a crash before it only downloads those objects again.
            self._save()
        return fetched

    def acknowledge(self, fetched: Fetched) -> None:
        """Delete the notices of a pass whose objects the pipe has committed."""
        for start in range(0, len(fetched.receipts), 10):
            batch = fetched.receipts[start : start + 10]
            self._sqs.delete_message_batch(
                QueueUrl=self.queue_url,
                Entries=[{"Id": str(n), "ReceiptHandle": h} for n, h in enumerate(batch)],
            )

    def _receive(self, fetched: Fetched, wait_s: int) -> None:
        # A bounded pass: a queue a busy producer keeps filling (or whose
        # notices come back after a short visibility timeout) never holds the
        # loop here; the next pass takes the rest.
        for _ in range(RECEIVES_PER_FETCH):
            answer = self._sqs.receive_message(
                QueueUrl=self.queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=wait_s
            )
            messages = answer.get("Messages", [])
            if not messages:
                return
            wait_s = 0  # the rest of the queue, without waiting
            for message in messages:
                fetched.receipts.append(message["ReceiptHandle"])
                for key, etag in _announced(message["Body"]):
                    if self._etags.get(key) != etag:
                        self._download(key, etag, fetched)

    def _list(self, fetched: Fetched) -> None:
        for key, etag in self._unfetched():
            self._download(key, etag, fetched)

    def _unfetched(self) -> list[tuple[str, str]]:
        """(key, ETag) of every object under the prefix not brought in as it is now;
        when the oldest of them was written is kept for `health()`."""
        pages = self._s3.get_paginator("list_objects_v2").paginate(
            Bucket=self.location.bucket, Prefix=self.location.prefix
        )
        items = [
            item
            for page in pages
            for item in page.get("Contents", [])
            if self._etags.get(item["Key"]) != item["ETag"].strip('"')
        ]
        self._oldest = min((item["LastModified"] for item in items), default=None)
        return [(item["Key"], item["ETag"].strip('"')) for item in items]

    def objects(self) -> dict[str, bool]:
        """Every object under the prefix, by its name relative to it: True when
        the local stage holds it as it is now (for reconcile)."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            pages = self._s3.get_paginator("list_objects_v2").paginate(
                Bucket=self.location.bucket, Prefix=self.location.prefix
            )
            return {
                item["Key"][len(self.location.prefix) :]: self._etags.get(item["Key"])
                == item["ETag"].strip('"')
                for page in pages
                for item in page.get("Contents", [])
            }
        except (BotoCoreError, ClientError) as error:
            raise aws_error(error, f"cannot list {self.location.url}") from error

    def health(self) -> dict[str, int | float | str]:
        """Live-status fields from the last `pending()`: the oldest object not
        loaded yet, and the notices waiting in the queue."""
        from datetime import UTC, datetime

        fields: dict[str, int | float | str] = {}
        if self._oldest is not None:
            age = (datetime.now(UTC) - self._oldest).total_seconds()
            fields["oldest unloaded S3 object (s)"] = round(max(age, 0.0), 1)
        if self._sqs is not None:
            fields["SQS notices waiting"] = self._waiting()
        return fields

    def _waiting(self) -> int:
        """Notices in the queue that a receive would return now (SQS's approximate count)."""
        if self._sqs is None:
            return 0
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.queue_url, AttributeNames=["ApproximateNumberOfMessages"]
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"])

    def pending(self) -> int:
        """Objects under the prefix not in the local stage as they are now (a
        listing), and notices waiting in the queue: a drain receives (and
        deletes) every notice, also those of objects loaded already."""
        from botocore.exceptions import BotoCoreError, ClientError

        try:
            self._seen = self._unfetched()
            return len(self._seen) + self._waiting()
        except (BotoCoreError, ClientError) as error:
            raise aws_error(error, f"cannot list {self.location.url}") from error

    def _download(self, key: str, etag: str, fetched: Fetched) -> None:
        from botocore.exceptions import ClientError

        name = self._local_name(key)
        target = None if name is None else self.stage_root / name
        reason = None
        if key.endswith("/"):
            reason = "a folder marker (a key ending in /), not a file"
        elif target is None:
            reason = f"not a plain name under {self.location.url}"
        elif target.is_dir() or any(parent.is_file() for parent in target.parents):
            reason = "its name clashes with a folder of the stage (or a file in its path)"
        if reason is not None:
            fetched.ignored.append(f"{key}: {reason}")
            self._etags[key] = etag  # said once, not fetched again
            return
        target.parent.mkdir(parents=True, exist_ok=True)
        temporary = target.parent / f".{target.name}.s3-download"
        try:
            answer = self._s3.get_object(Bucket=self.location.bucket, Key=key)
        except ClientError as error:
            if error.response.get("Error", {}).get("Code") in ("NoSuchKey", "404"):
                fetched.ignored.append(f"{key}: deleted before it was read")
                return
            raise
        with open(temporary, "wb") as handle:
            for chunk in answer["Body"].iter_chunks(1 << 20):
                handle.write(chunk)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        self._etags[key] = answer["ETag"].strip('"')

    def _local_name(self, key: str) -> str | None:
        """The key relative to the prefix, when it is a plain relative path."""
        if not key.startswith(self.location.prefix):
            return None
        relative = PurePosixPath(key[len(self.location.prefix) :])
        if not relative.parts or any(part in ("", ".", "..") for part in relative.parts):
            return None
        return str(relative)

    def _save(self) -> None:
        temporary = self.state_path.with_name(f".{self.state_path.name}.tmp")
        temporary.write_text(json.dumps(self._etags, sort_keys=True), encoding="utf-8")
        os.replace(temporary, self.state_path)


def _announced(body: str) -> list[tuple[str, str]]:
    """(key, ETag) of every object a notification says was created; an
    `s3:TestEvent`, a removal or a body that is no S3 notice announces none."""
    try:
        notice = json.loads(body)
    except ValueError:
        return []
    found = []
    for record in notice.get("Records", []) if isinstance(notice, dict) else []:
        if not str(record.get("eventName", "")).startswith("ObjectCreated:"):
            continue
        item = record.get("s3", {}).get("object", {})
        if "key" in item:
            found.append((unquote_plus(item["key"]), str(item.get("eTag", "")).strip('"')))
    return found
