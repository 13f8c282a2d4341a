"""How much XLA-compiling the rule call speeds up `general-v3`'s evaluation rollouts.

    python results/speed-memory/rollout_xla.py 100 mnist-conv-bn-dropout tokens-embedding-gru \
        fashion-two-input fashion-centroid-regression cifar-resmlp-layernorm

(STEPS, then suite tasks; output in rollout_xla.md). Per task, one seed's rollout of STEPS
steps with `HierarchicalLSTM.compile_with_xla` off and on, twice each in alternation, the
faster of each pair reported, as ms per step.
"""

import sys

import numpy as np

from keras_l2l import TrainedRule, rollout
from keras_l2l.datasets import default_data_dir
from keras_l2l.evaluation import runs
from keras_l2l.problems import get_problem
from keras_l2l.rules import HierarchicalLSTM


def main():
    steps = int(sys.argv[1])
    trained = TrainedRule.from_preset("general-v3")
    meta = trained.meta_tensors()
    print("| task | parameters | graph mode, ms/step | XLA-compiled call, ms/step | speed-up |")
    print("|---|---|---|---|---|")
    for task in sys.argv[2:]:
        problem = get_problem(f"suite/{task}", default_data_dir())
        start = runs.initial_params(problem, [0])[0]
        best = {}
        for xla in (False, True, False, True):
            HierarchicalLSTM.compile_with_xla = xla
            run = rollout.make_rollout(trained.rule, problem)
            runs.run_seed(run, meta, start, 0, 2)  # traces
            _, _, seconds = runs.run_seed(run, meta, start, 0, steps)
            best[xla] = min(best.get(xla, np.inf), seconds / steps * 1e3)
        size = sum(int(np.prod(shape)) for shape in problem.shapes())
        print(f"| {task} | {size:,} | {best[False]:.2f} | {best[True]:.2f} "
              f"| {best[False] / best[True]:.2f}x |", flush=True)


if __name__ == "__main__":
    main()
