#!/usr/bin/env python
"""Lineage and column docs for dbt docs serve, also while a pipeline runs. See --help."""

import sys

try:
    from snowcart.cli import docs_main
except ModuleNotFoundError as missing:  # run outside the project's virtual environment
    sys.exit(
        f"snowcart is not installed here ({missing}): run `make install`, then `source .venv/bin/activate`"
    )

if __name__ == "__main__":
    sys.exit(docs_main())
