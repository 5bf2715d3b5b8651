#!/usr/bin/env python
"""Create what the pipeline needs on dev (DuckDB) or Snowflake. Idempotent. See --help."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from snowcart.snowflake_setup import setup_main  # noqa: E402

if __name__ == "__main__":
    sys.exit(setup_main())
