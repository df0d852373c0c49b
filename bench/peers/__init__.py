"""Side-by-side benchmark of pattern-db and its peers: `python -m bench.peers`."""
