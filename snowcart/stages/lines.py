"""What a line of a stage file is: the one definition the pipe loads by and
reconcile counts by.

- A line ends at `\\r\\n`, `\\n` or a lone `\\r` (the three newline conventions
  producers use); the ending is not part of the line. So `a\\r\\n\\nb` is three
  lines, `a`, an empty one and `b`. A raw CR cannot occur inside a JSON text
  (JSON escapes it), so no event is ever split by this.
- A last line without an ending counts; an empty file has no lines.
- A `.gz` file is its inflated content, every gzip member of it, zero padding
  after a member allowed (as `gzip` and `zcat` read them). Where the gzip data
  is damaged (truncated, corrupt, other bytes after a member), what inflated
  before the damage is kept and one more, incomplete, line stands for the rest.
- A UTF-8 byte-order mark at the start of the file is not part of the first line.

The pipe's bulk reader (DuckDB's `read_csv`) splits lines its own way; it is used
only for files where that way gives the same lines: no CR anywhere, no damage,
and the same number of lines (checked after every read). Every other file is read
by `read_lines` here.
"""

from __future__ import annotations

import hashlib
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO

LINE_END = re.compile(rb"\r\n|\r|\n")
BYTE_ORDER_MARK = b"\xef\xbb\xbf"
CHUNK = 1 << 20
# Corrupt gzip is inflated a byte at a time to find where the damage starts;
# smaller pieces bound that work.
GZIP_PIECE = 1 << 16
GZIP = 31  # zlib wbits for a gzip header and trailer


@dataclass(frozen=True)
class FileFacts:
    """A stage file as stored (size, SHA-256) and its lines by the definition above."""

    size: int
    sha256: str
    line_count: int
    # True when every line ends in a plain `\n` and nothing is damaged: then a
    # reader that splits on `\n` alone sees the very same lines.
    lf_only: bool


class _Inflated:
    """The content of a stored file, chunk by chunk: as stored, or inflated
    across every gzip member. `damage` says why the end could not be read."""

    def __init__(self, handle: BinaryIO, compressed: bool, digest: Any = None) -> None:
        self.handle = handle
        self.compressed = compressed
        self.digest = digest
        self.size = 0
        self.damage: str | None = None

    def _stored(self, piece: int) -> Iterator[bytes]:
        while chunk := self.handle.read(piece):
            self.size += len(chunk)
            if self.digest is not None:
                self.digest.update(chunk)
            yield chunk

    def __iter__(self) -> Iterator[bytes]:
        if not self.compressed:
            yield from self._stored(CHUNK)
            return
        inflater, started, members = zlib.decompressobj(wbits=GZIP), False, 0
        for chunk in self._stored(GZIP_PIECE):
            while chunk and not self.damage:  # once damaged, only size and checksum
                if members and not started:
                    # Zero padding after a member, as gzip itself allows.
                    chunk = chunk.lstrip(b"\0")
                    if not chunk:
                        break
                before, started = inflater.copy(), True
                try:
                    yield inflater.decompress(chunk)
                except zlib.error as error:
                    yield _inflate_until_error(before, chunk)
                    self.damage = f"corrupt compressed data: {error}"
                    break
                if not inflater.eof:
                    break
                # A member ended: what follows is the next member (or damage).
                chunk, members = inflater.unused_data, members + 1
                inflater, started = zlib.decompressobj(wbits=GZIP), False
        if not self.damage and started and not inflater.eof:
            self.damage = "truncated file: compressed stream ends early"
            yield inflater.flush()


def _inflate_until_error(inflater, chunk: bytes) -> bytes:
    """What `chunk` inflates to before the byte where it turns corrupt."""
    recovered = bytearray()
    for offset in range(len(chunk)):
        try:
            recovered += inflater.decompress(chunk[offset : offset + 1])
        except zlib.error:
            break
    return bytes(recovered)


def inspect(handle: BinaryIO, compressed: bool) -> FileFacts:
    """Size, checksum and line count in one pass, without holding the file."""
    digest = hashlib.sha256()
    content = _Inflated(handle, compressed, digest)
    ends = 0  # line endings: \n and \r, a \r\n pair counted once
    has_cr, previous_cr, last = False, False, b""
    for chunk in content:
        if not chunk:
            continue
        ends += chunk.count(b"\n")
        if b"\r" in chunk or previous_cr:  # the common file has no CR: one pass less
            crs = chunk.count(b"\r")
            pairs = chunk.count(b"\r\n") + (previous_cr and chunk[:1] == b"\n")
            ends += crs - pairs
            has_cr = has_cr or crs > 0
        previous_cr, last = chunk[-1:] == b"\r", chunk[-1:]
    unterminated = bool(last) and last not in b"\r\n"
    count = ends + (1 if unterminated or content.damage else 0)
    return FileFacts(content.size, digest.hexdigest(), count, not has_cr and not content.damage)


def read_lines(handle: BinaryIO, compressed: bool) -> list[tuple[int, str | None, str | None]]:
    """Every line as (number, text, why it cannot be loaded or None): invalid
    UTF-8 is marked, and the incomplete line at damage carries the damage."""
    content = _Inflated(handle, compressed)
    data = b"".join(content)
    marked = data.startswith(BYTE_ORDER_MARK)
    if marked:
        data = data[len(BYTE_ORDER_MARK) :]
    pieces = LINE_END.split(data)
    complete, tail = pieces[:-1], pieces[-1]
    lines = [(number, *decode(raw)) for number, raw in enumerate(complete, start=1)]
    number = len(complete) + 1
    if content.damage:
        # The last line of a damaged file is incomplete whatever it looks like.
        lines.append((number, decode(tail)[0], content.damage))
    elif tail or (marked and not data):
        lines.append((number, *decode(tail)))
    return lines


def decode(raw: bytes) -> tuple[str | None, str | None]:
    """A line's text (None: empty), and why it is not valid UTF-8 (None: it is)."""
    if not raw:
        return None, None  # an empty line, as the bulk reader gives it
    try:
        return raw.decode("utf-8"), None
    except UnicodeDecodeError as error:
        return raw.decode("utf-8", errors="replace"), f"invalid UTF-8 at byte {error.start}"


def is_compressed(name: str) -> bool:
    return name.endswith(".gz")


def count_lines(path: Path) -> int:
    """Lines of a file by the definition above."""
    with open(path, "rb") as handle:
        return inspect(handle, is_compressed(path.name)).line_count
