"""Benchmarks are opt-in: `make bench` / `make bench-quick` pass --benchmark-enable."""
