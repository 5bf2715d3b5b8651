#!/usr/bin/env python
"""Run the real-time loop (load → transform → refresh → publish) alone. See --help."""

import sys

try:
    from snowcart.cli import pipeline_main
except ModuleNotFoundError as missing:  # run outside the project's virtual environment
    sys.exit(
        f"snowcart is not installed here ({missing}): run `make install`, then `source .venv/bin/activate`"
    )

if __name__ == "__main__":
    sys.exit(pipeline_main())
