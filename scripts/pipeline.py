#!/usr/bin/env python
"""Run the real-time loop (load → transform → refresh → publish) alone. See --help."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from snowcart.cli import pipeline_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(pipeline_main())
