"""eval: datasets, metrics, runners and benchmarks for reportqa."""
