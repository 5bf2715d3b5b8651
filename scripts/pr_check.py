#!/usr/bin/env python
"""Slim CI: build and test only what this branch changed, deferring to main. See --help."""

import sys

try:
    from snowcart.cli import pr_check_main
except ModuleNotFoundError as missing:  # run outside the project's virtual environment
    sys.exit(
        f"snowcart is not installed here ({missing}): run `make install`, then `source .venv/bin/activate`"
    )

if __name__ == "__main__":
    sys.exit(pr_check_main())
