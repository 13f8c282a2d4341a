#!/bin/sh
# Issue 12 item 2: peak memory of one update at 1M, 10M and 30M parameters, each in a
# fresh process ("cold") and after a warm-up optimizer of the same kind in the same process
# (benchmarks/memory.py's docstring says why), then the paper's LSTM with chunk_size=4096.
cd "$(dirname "$0")/../../.." || exit 1
python benchmarks/run.py --sections memory --out results/speed-memory/warm-up || exit 1
for params in 1000000 10000000 30000000; do
  python benchmarks/memory.py "learned float32" --params "$params" --chunk-size 4096
done > results/speed-memory/warm-up/chunk-4096.jsonl
