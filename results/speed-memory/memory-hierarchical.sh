#!/bin/sh
# Issue 12 item 2 for HierarchicalLSTM (`general`), run in chunks (chunk_size=16384, default):
# peak memory of one update at 10k (the fixed cost: XLA's compile), 1M, 10M and 30M parameters,
# one fresh subprocess each, one JSON line each (peak_mb - variables_mb = peak above the state).
cd "$(dirname "$0")/../.." || exit 1
for params in 10000 1000000 10000000 30000000; do
  python benchmarks/memory.py "hierarchical (general)" --params "$params"
done > results/speed-memory/memory-hierarchical.jsonl
