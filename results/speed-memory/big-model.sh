#!/bin/sh
# Issue 12 item 2: the 26.6M-parameter ResNet-style conv net trains 3 steps with the paper's
# LSTM (the `mnist` preset), float32 and bfloat16 state, the optimizer built in the first
# step as `fit` does, or before training (--build-first); one JSON line each.
cd "$(dirname "$0")/../.." || exit 1
for dtype in float32 bfloat16; do
  python benchmarks/big_model.py --state-dtype "$dtype"
  python benchmarks/big_model.py --state-dtype "$dtype" --build-first
done > results/speed-memory/big-model.jsonl
