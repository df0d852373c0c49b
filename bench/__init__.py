"""Benchmarks: pattern-db against the same work done directly (raw apsw, sqlite-vec, numpy)."""
