"""Benchmarks: `make bench` writes results under $TOKENLAKE_HOME/bench/."""
