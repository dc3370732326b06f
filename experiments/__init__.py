"""Benchmarks and studies behind every figure the docs quote: run one as ``python -m experiments.NAME``; ``python -m experiments`` lists them."""
