#!/usr/bin/env bash
# `general-v6` on the held-out suite at the issue's settings, against the constant-rate
# tuned baselines of results/suite-full-v2 (reused): results/suite-full-v3/command.sh
# (which says how to run the 5,000-step pairs) with this preset and output directory.
#   bash results/suite-full-v6/command.sh                    # 200 and 1,000 steps, all tasks
#   HORIZONS=5000 TASKS=fashion-two-input,... bash results/suite-full-v6/command.sh
# The 5,000-step pairs were run in a copy of the repository (two processes, TASKS split);
# their task directories were copied here, and that copy's summary of the 11 tasks at
# 5,000 steps is summary-5000.md/.json and suite-5000.png (2026-12-07, code b8c302f).
set -euo pipefail
OPTIMIZER=general-v6 OUT=results/suite-full-v6 exec bash "$(dirname "$0")/../suite-full-v3/command.sh"
