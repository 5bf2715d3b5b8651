"""Who holds a DuckDB file. One process writes a DuckDB file at a time; another
that opens it gets DuckDB's lock error, which names only the holder's PID and
executable. The holder's command line says which Snowcart command it is."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

LOCK_ERROR = "Could not set lock on file"
HOLDER_PID = re.compile(r"\(PID (\d+)\)")


def is_lock_error(error: BaseException) -> bool:
    return LOCK_ERROR in str(error)


def holder(error: BaseException) -> str:
    """`PID 7991: python scripts/simulate.py --home /tmp/h`, or DuckDB's own
    words when the process is gone or its command line cannot be read."""
    found = HOLDER_PID.search(str(error))
    if found is None:
        return str(error).split(". See also ")[0]
    pid = found.group(1)
    try:
        arguments = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return f"PID {pid}"
    command = shlex.join(part.decode(errors="replace") for part in arguments if part)
    return f"PID {pid}: {command[:200]}" if command else f"PID {pid}"
