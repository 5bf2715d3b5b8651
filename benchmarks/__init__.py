"""Snowcart benchmarks: `make bench` (or `python -m benchmarks.run`), see docs/benchmarks.md.

Each measured area has its own module (bench_generator, bench_ingest, bench_e2e);
run.py runs them, compares the medians with DESIGN.md §5 targets and writes the report.
"""
