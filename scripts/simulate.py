#!/usr/bin/env python
"""Stream generated e-commerce events through stage → pipe → dbt. See --help."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from snowcart.cli import simulate_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(simulate_main())
