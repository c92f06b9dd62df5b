"""`glossarian bench`: latency, throughput, scale and server figures measured on this machine, next to targets.

One module per measurement: floor (the encode floor and bare-encode rates), ceiling (the batched-encode
ceiling on all cores), synthetic (cloned corpora of 10k-100k entries, flat vs HNSW), server (server
processes under concurrent clients), targets (targets and the table); run ties them into one run.
"""
from glossarian.bench.run import Bench, BenchConfig, run_bench
from glossarian.bench.targets import FIGURES, format_table, targets

__all__ = ["FIGURES", "Bench", "BenchConfig", "format_table", "run_bench", "targets"]
