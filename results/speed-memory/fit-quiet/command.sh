#!/bin/sh
# Issue 12 item 4: the fit-step ratios (full run: 40 steps per fit call, 9 interleaved rounds)
# on a quiet machine, nothing else running.
cd "$(dirname "$0")/../../.." && python benchmarks/run.py --sections fit --out results/speed-memory/fit-quiet
