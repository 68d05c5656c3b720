"""Benchmarks run by ``make bench`` (``python -m benchmarks``); 127.0.0.1 only, bounded in time."""
