"""Command-line entry points: one module per command, each parsing its own
arguments; scripts/*.py and the `snowcart-*` console scripts call these."""

from snowcart.cli.docs import docs_main
from snowcart.cli.pipeline import pipeline_main
from snowcart.cli.pr_check import pr_check_main
from snowcart.cli.reconcile import reconcile_main
from snowcart.cli.setup import setup_main
from snowcart.cli.simulate import simulate_main

__all__ = [
    "docs_main",
    "pipeline_main",
    "pr_check_main",
    "reconcile_main",
    "setup_main",
    "simulate_main",
]
