"""Benchmarks run by `make bench`: ratios against peers measured in the same run."""
