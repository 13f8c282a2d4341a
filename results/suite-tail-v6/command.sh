#!/usr/bin/env bash
# `general-v6` at 1,000 steps against tuned Adam and NAG given the same linear tail as its
# own (results/suite-tail-v4's baselines, reused), and with its step multiplier tuned too
# (`--tune-learned`): how much of general-v4's loss to them (1.23x; 1.10x tuned) its
# per-variable hypergradient step size recovers without tuning.
set -euo pipefail
OPTIMIZER=general-v6 OUT=results/suite-tail-v6 exec bash "$(dirname "$0")/../suite-tuned-v4/command.sh"
