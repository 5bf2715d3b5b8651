#!/usr/bin/env python
"""Check that every event emitted was loaded, rejected with a reason, or deduplicated."""

import sys

try:
    from snowcart.cli import reconcile_main
except ModuleNotFoundError as missing:  # run outside the project's virtual environment
    sys.exit(
        f"snowcart is not installed here ({missing}): run `make install`, then `source .venv/bin/activate`"
    )

if __name__ == "__main__":
    sys.exit(reconcile_main())
