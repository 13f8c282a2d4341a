#!/bin/sh
# The fit-step section alone, with the benchmark's third optimizer the shipped default
# (`LearnedOptimizer()`, preset `general`) rather than an untrained HierarchicalLSTM.
cd "$(dirname "$0")/../../.." && python benchmarks/run.py --quick --sections fit --out results/speed-memory/fit-general
