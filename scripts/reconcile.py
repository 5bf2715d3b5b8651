#!/usr/bin/env python
"""Check that every event emitted was loaded, rejected with a reason, or deduplicated."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from snowcart.cli import reconcile_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(reconcile_main())
