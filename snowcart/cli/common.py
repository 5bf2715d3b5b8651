"""What every command shares: one-line usage errors, value checks, Ctrl-C handling."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime

from snowcart.errors import ConfigError, SnowcartError


class OneLineParser(argparse.ArgumentParser):
    """Bad flags: one line on stderr and exit 2, no usage dump."""

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


def run_guarded(main: Callable[[threading.Event], int]) -> int:
    """Run `main` with Ctrl-C → graceful stop (a second Ctrl-C aborts), and
    user-facing errors printed as one line."""
    stop = threading.Event()

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
    except SnowcartError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("snowcart: aborted", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGINT, previous)
