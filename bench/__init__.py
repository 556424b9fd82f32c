"""Benchmarks of the Hotline Flow runtime (bench.lifecycle, bench.timers); results in docs/benchmarks.md."""
