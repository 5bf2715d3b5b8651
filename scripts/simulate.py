#!/usr/bin/env python
"""Stream generated e-commerce events through stage → pipe → dbt. See --help."""

import sys

try:
    from snowcart.cli import simulate_main
except ModuleNotFoundError as missing:  # run outside the project's virtual environment
    sys.exit(
        f"snowcart is not installed here ({missing}): run `make install`, then `source .venv/bin/activate`"
    )

if __name__ == "__main__":
    sys.exit(simulate_main())
