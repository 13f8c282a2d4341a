#!/bin/sh
# Issue 12 item 2 at 30M parameters (the quick run of command.sh stops at 10M): one fresh
# subprocess per optimizer, one JSON line each (peak_mb - variables_mb = peak above the state).
cd "$(dirname "$0")/../.." || exit 1
for optimizer in Adam "learned float32" "hierarchical (general)"; do
  python benchmarks/memory.py "$optimizer" --params 30000000 | sed "s/^/{\"optimizer\": \"$optimizer\", \"result\": /; s/\$/}/"
done > results/speed-memory/memory-30m.jsonl
