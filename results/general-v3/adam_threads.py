"""Tuned Adam's demo runs depend on TF's CPU thread count (float summation order).

    TF_NUM_INTRAOP_THREADS=1 python results/general-v3/adam_threads.py
    python results/general-v3/adam_threads.py

Adam at the demo's tuned rate (0.0221) on the MNIST MLP, seed 2, 1,000 steps, twice in
one process: the final eval_loss repeats within a process and differs between thread
counts (output in adam_threads.md).
"""

import os

from keras_l2l.datasets import default_data_dir
from keras_l2l.evaluation import runs
from keras_l2l.problems import get_problem
from keras_l2l.rollout import make_rollout
from keras_l2l.rules import BASELINES

problem = get_problem("mnist", default_data_dir())
run = make_rollout(BASELINES["adam"](), problem)
final_loss, _ = runs.compile_scores(problem)
start = runs.initial_params(problem, [2])[2]
meta = runs.learning_rate_params(0.02209708691207961)
for _ in range(2):
    _, final, _ = runs.run_seed(run, meta, start, 2, 1000)
    print(f"TF_NUM_INTRAOP_THREADS={os.environ.get('TF_NUM_INTRAOP_THREADS', 'unset')}: "
          f"final eval_loss {float(final_loss(final, runs.seed_tensor(2))):.4f}", flush=True)
