#!/bin/sh
# Issue 12 items 2 and 4: memory (1M, 10M parameters; learned vs Adam vs HierarchicalLSTM)
# and fit-step speed (learned vs Adam, interleaved, 7 rounds) in one quick run.
# Measured with the two background meta-training runs paused (see the report's load averages).
cd "$(dirname "$0")/../.." && python benchmarks/run.py --quick --sections memory,fit --out results/speed-memory
