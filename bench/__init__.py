"""Benchmarks of the Hotline Flow runtime (`python -m bench.lifecycle`); results in docs/benchmarks.md."""
