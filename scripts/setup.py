#!/usr/bin/env python
"""Create what the pipeline needs on dev (DuckDB) or Snowflake. Idempotent. See --help."""

import sys

try:
    from snowcart.cli import setup_main
except ModuleNotFoundError as missing:  # run outside the project's virtual environment
    sys.exit(
        f"snowcart is not installed here ({missing}): run `make install`, then `source .venv/bin/activate`"
    )

if __name__ == "__main__":
    sys.exit(setup_main())
