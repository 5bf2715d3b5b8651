"""What every command shares: one-line usage errors, value checks, Ctrl-C
handling, and a failure told as one line: its cause and what to do."""

from __future__ import annotations

import argparse
import errno
import os
import re
import shlex
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from snowcart.errors import ConfigError, SnowcartError, WarehouseDamaged

if TYPE_CHECKING:
    from snowcart.settings import Settings
    from snowcart.stages.kafka import KafkaSettings


class OneLineParser(argparse.ArgumentParser):
    """Bad flags: one line on stderr and exit 2, no usage dump; a flag is
    spelled out (no abbreviations: `--event 10` is a typo, not `--events`)."""

    def __init__(self, *args, **kwargs) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {text}")
    return value


def fraction(text: str) -> float:
    value = float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1, got {text}")
    return value


def utc_time(text: str) -> datetime:
    """An ISO 8601 time as naive UTC; a time without an offset is taken as UTC."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected an ISO 8601 time such as 2026-01-01T00:00:00Z, got {text!r}"
        ) from None
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC).replace(tzinfo=None)
    return moment


def checked(check: Callable[[str], str]) -> Callable[[str], str]:
    """An argparse type from a check that raises ConfigError."""

    def convert(text: str) -> str:
        try:
            return check(text)
        except ConfigError as error:
            raise argparse.ArgumentTypeError(str(error)) from None

    return convert


def add_stage_arguments(parser: argparse.ArgumentParser) -> None:
    """--stage, --sqs-queue-url, --s3-endpoint-url (simulate.py, pipeline.py)."""
    from snowcart.engines.base import s3_prefix_url

    group = parser.add_argument_group("S3 stage (instead of the home's stage folder)")
    group.add_argument(
        "--stage",
        type=checked(s3_prefix_url),
        default=None,
        metavar="S3_URL",
        help="s3://bucket/prefix/ to write batch files to and load them from; AWS "
        "credentials from the standard chain (environment, profile, role)",
    )
    group.add_argument(
        "--sqs-queue-url",
        default=None,
        metavar="URL",
        help="the queue of the bucket's s3:ObjectCreated notifications (dev target: loads "
        "as they arrive; the prefix is also listed for lost ones)",
    )
    group.add_argument(
        "--s3-endpoint-url",
        default=None,
        metavar="URL",
        help="an S3-compatible endpoint (MinIO, LocalStack, moto) instead of AWS",
    )


def with_stage(settings: Settings, args: argparse.Namespace) -> Settings:
    """`settings` with the S3 stage the flags name; a flag that needs --stage is refused."""
    from dataclasses import replace

    from snowcart.stages.s3 import S3Location

    if args.stage is None:
        given = [flag for flag in ("sqs_queue_url", "s3_endpoint_url") if getattr(args, flag)]
        if given:
            raise ConfigError(f"--{given[0].replace('_', '-')} needs --stage s3://bucket/prefix/")
        return settings
    location = S3Location(args.stage, args.s3_endpoint_url)
    return replace(settings, s3_stage=location, sqs_queue_url=args.sqs_queue_url)


def add_kafka_arguments(parser: argparse.ArgumentParser, flag: str) -> None:
    """`--sink kafka` (simulate.py) or `--source kafka` (pipeline.py), and where the topics are."""
    group = parser.add_argument_group(
        "Kafka topics (instead of a stage; credentials from SNOWCART_KAFKA_* variables)"
    )
    group.add_argument(
        f"--{flag}",
        choices=["stage", "kafka"],
        default="stage",
        help="kafka: one topic per landing table instead of stage files",
    )
    group.add_argument(
        "--bootstrap-servers", default=None, metavar="HOST:PORT[,…]", help="the Kafka brokers"
    )
    add_topic_arguments(group)
    group.add_argument(
        "--consumer-group",
        default=None,
        metavar="GROUP",
        help="the consumer group the embedded engine reads in (default: snowcart)",
    )


def add_topic_arguments(group) -> None:
    """--topic-prefix and --topic-map: which topic each landing table has."""
    group.add_argument(
        "--topic-prefix",
        default=None,
        metavar="PREFIX",
        help="topic of each landing table: <prefix><table> (default: snowcart.)",
    )
    group.add_argument(
        "--topic-map",
        type=checked(_topic_map_text),
        default=None,
        metavar="MAP",
        help="explicit topics, e.g. orders=shop.orders,customers=shop.customers",
    )


def _topic_map_text(text: str) -> str:
    from snowcart.stages.kafka import parse_topic_map

    parse_topic_map(text)
    return text


def with_kafka(settings: Settings, args: argparse.Namespace, flag: str) -> Settings:
    """`settings` with the Kafka topics the flags name; a flag that needs them is refused."""
    from dataclasses import replace

    options = ("bootstrap_servers", "topic_prefix", "topic_map", "consumer_group")
    if getattr(args, flag) != "kafka":
        given = [option for option in options if getattr(args, option)]
        if given:
            raise ConfigError(f"--{given[0].replace('_', '-')} needs --{flag} kafka")
        return settings
    if not args.bootstrap_servers:
        raise ConfigError(f"--{flag} kafka needs --bootstrap-servers HOST:PORT")
    if getattr(args, "stage", None):
        raise ConfigError(f"--{flag} kafka reads topics, not a stage: drop --stage")
    return replace(settings, kafka=kafka_settings(args, args.bootstrap_servers))


def kafka_settings(args: argparse.Namespace, bootstrap_servers: str) -> KafkaSettings:
    """The topics (and consumer group, where the flags have one) the flags name."""
    from snowcart.stages.kafka import KafkaSettings, parse_topic_map

    group = getattr(args, "consumer_group", None)
    return KafkaSettings(
        bootstrap_servers,
        **({"topic_prefix": args.topic_prefix} if args.topic_prefix else {}),
        **({"group_id": group} if group else {}),
        topic_map=parse_topic_map(args.topic_map or ""),
    )


class SurvivingStream:
    """A standard stream whose reader may go away (`make demo | tee log`, then
    Ctrl-C ends tee first): from the first broken pipe on, the stream's file
    descriptor points at /dev/null, so the status lines stop and the drain goes
    on; nothing that matters is only printed (the warehouse has it all)."""

    def __init__(self, stream) -> None:
        self._stream = stream

    def write(self, text: str) -> int:
        try:
            return self._stream.write(text)
        except BrokenPipeError:
            self._reader_gone()
            return len(text)

    def flush(self) -> None:
        try:
            self._stream.flush()
        except BrokenPipeError:
            self._reader_gone()

    def _reader_gone(self) -> None:
        try:
            null = os.open(os.devnull, os.O_WRONLY)
            os.dup2(null, self._stream.fileno())
            os.close(null)
            self._stream.flush()  # what was buffered goes to /dev/null too
        except (OSError, ValueError):
            pass

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def run_guarded(
    main: Callable[[threading.Event], int], settings: Callable[[], Settings] | None = None
) -> int:
    """Run `main` with Ctrl-C → graceful stop (a second Ctrl-C aborts), output
    that survives its reader going away, and failures printed as one line:
    user-facing errors as they are, and a full disk, a damaged or locked
    warehouse, a home that cannot be written with their cause and what to do
    (`settings` names the home, when known)."""
    stop = threading.Event()
    streams = {"stdout": sys.stdout, "stderr": sys.stderr}
    for name, stream in streams.items():
        if not isinstance(stream, SurvivingStream):
            setattr(sys, name, SurvivingStream(stream))

    def on_interrupt(signum, frame):  # noqa: ARG001
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()
        print(
            "\nsnowcart: stopping after the current batch, then draining (Ctrl-C again to abort)",
            file=sys.stderr,
            flush=True,
        )

    previous = signal.signal(signal.SIGINT, on_interrupt)
    try:
        return main(stop)
    except KeyboardInterrupt:
        print("snowcart: aborted", file=sys.stderr)
        return 130
    except Exception as error:
        message = explain(error, _settings_or_none(settings))
        if message is None and not isinstance(error, SnowcartError):
            raise
        print(f"error: {message or error}", file=sys.stderr)
        return 1
    finally:
        signal.signal(signal.SIGINT, previous)
        for name, stream in streams.items():
            setattr(sys, name, stream)


def check_writable(*folders: Path) -> None:
    """Write and remove a file in each existing folder: a home that cannot be
    written fails here, by name, not deep inside dbt or DuckDB."""
    for folder in folders:
        if folder.exists() and not folder.is_dir():
            raise ConfigError(f"{folder} is a file where Snowcart keeps a folder: move it away")
        if folder.is_dir():
            probe = folder / f".snowcart-write-check-{os.getpid()}"
            probe.touch()
            probe.unlink()


# ------------------------------------------------------------------ failures

NOTHING_LOST = "nothing staged or loaded is lost (a load cut short is loaded again)"
QUOTED_PATH = re.compile(r"""["'](/[^"']+)["']""")


def explain(error: BaseException, settings: Settings | None) -> str | None:
    """One line for a failure whose cause is known, from anywhere in its chain
    (a failed commit surfaces as the failed rollback after it); None otherwise."""
    chain = list(_chain(error))
    for explainer in (_disk_full, _not_writable, _in_use, _damaged):
        for link in chain:
            message = explainer(link, settings)
            if message is not None:
                return message
    return None


def _chain(error: BaseException | None) -> Iterator[BaseException]:
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        yield error
        error = error.__cause__ or error.__context__


def _settings_or_none(settings: Callable[[], Settings] | None) -> Settings | None:
    try:
        return settings() if settings is not None else None
    except Exception:  # a home that cannot even be located: explain without it
        return None


def _cause(error: BaseException) -> str:
    if isinstance(error, OSError) and error.strerror:
        return f"{error.strerror}: {error.filename}" if error.filename else error.strerror
    text = str(error).strip()
    text = text.splitlines()[0] if text else type(error).__name__
    return text.split(". See also ")[0][:300]


def _path_in(error: BaseException) -> Path | None:
    if isinstance(error, OSError) and error.filename:
        return Path(os.fsdecode(error.filename))
    found = QUOTED_PATH.search(str(error))
    return Path(found.group(1)) if found else None


def _has(error: BaseException, codes: tuple[int, ...], texts: tuple[str, ...]) -> bool:
    if isinstance(error, OSError) and error.errno in codes:
        return True
    return any(text in str(error) for text in texts)


def _disk_full(error: BaseException, settings: Settings | None) -> str | None:
    if _has(error, (errno.ENOSPC, errno.EDQUOT), ("No space left on device", "quota exceeded")):
        path = _path_in(error)
        home = settings.home if settings else None
        outside = path is not None and (home is None or not path.is_relative_to(home))
        where = path.parent if outside else (home or "the home")
        return (
            f"disk full ({_cause(error)}). Free space on the disk holding {where}, "
            f"then run the same command again: {NOTHING_LOST}"
        )
    if _has(error, (errno.EFBIG,), ("File too large",)):
        return (
            f"a file reached the size limit ({_cause(error)}). Raise the limit (ulimit -f) "
            f"or free space, then run the same command again: {NOTHING_LOST}"
        )
    return None


def _not_writable(error: BaseException, settings: Settings | None) -> str | None:
    codes = (errno.EROFS, errno.EACCES, errno.EPERM)
    if not _has(error, codes, ("Read-only file system", "Permission denied")):
        return None
    path = _path_in(error)
    home = settings.home if settings else None
    if home is not None and (path is None or path.is_relative_to(home)):
        return (
            f"cannot use {home} as home: it is not writable ({_cause(error)}). Make it "
            "writable or pass another folder with --home DIR (or SNOWCART_HOME)"
        )
    where = path.parent if path else "a folder"
    return (
        f"cannot write to {where} ({_cause(error)}): make it writable, then run the command again"
    )


def _in_use(error: BaseException, settings: Settings | None) -> str | None:
    from snowcart.engines.duckdb.lock import holder, is_lock_error

    if not is_lock_error(error):
        return None
    warehouse = settings.warehouse_path if settings else None
    path = _path_in(error) or warehouse
    what = "the warehouse" if path is not None and path == warehouse else "the file"
    return (
        f"{what} {path} is in use by {holder(error)}: stop that process "
        "(Ctrl-C: a pipeline drains first), or use another --home"
    )


def _damaged(error: BaseException, settings: Settings | None) -> str | None:
    from snowcart.engines.duckdb.health import DAMAGE_MARKERS

    if isinstance(error, WarehouseDamaged):
        path, head = Path(str(error.path)), str(error)
    elif any(marker in str(error) for marker in DAMAGE_MARKERS) and settings is not None:
        path = _path_in(error) or settings.warehouse_path
        head = f"the warehouse {path} is damaged ({_cause(error)})"
    else:
        return None
    home = shlex.quote(str(settings.home if settings else path.parent))
    # The write-ahead log goes aside with its file: it belongs to the damaged one.
    moves = [
        f"mv {shlex.quote(str(file))} {shlex.quote(f'{file}.damaged')}"
        for file in (Path(f"{path}.wal"), path)
        if file.exists()
    ]
    rebuild = " && ".join([*moves, f"python scripts/simulate.py --events 0 --home {home}"])
    return (
        f"{head}. It can be rebuilt from the stage: {rebuild}; "
        f"then check it with python scripts/reconcile.py --home {home}"
    )
