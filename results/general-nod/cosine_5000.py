"""Does annealing fix `general-v2`'s long runs? Each rule as it is and times a cosine decay
to 0 over the run (0.5 (1 + cos(pi t / T))), 3 seeds (0-2), final eval_loss:

    python results/general-nod/cosine_5000.py suite/fashion-two-input 5000 0.0078125,0.015625,0.03125

(PROBLEM, STEPS, Adam rates; output in cosine_5000.md). A diagnosis, not a selection: at
5,000 steps on the two-input model `general-v2` ends 62x tuned Adam (suite-full-v2).
"""

import math, sys
import numpy as np, tensorflow as tf
from keras_l2l import TrainedRule, flat
from keras_l2l.rules import Adam
from keras_l2l.rules.base import UpdateRule
from keras_l2l.problems.registry import get_problem
from keras_l2l.datasets import default_data_dir
from keras_l2l.rollout import make_rollout

class Cosine(UpdateRule):
    def __init__(self, inner): self.inner = inner
    def initial_state_for(self, shapes):
        s = self.inner.initial_state_for(shapes)
        return dict(s, **{"cos/t": tf.zeros([]), "cos/horizon": tf.zeros([])})
    def state_kind(self, key): return "global" if key.startswith("cos/") else self.inner.state_kind(key)
    def __call__(self, meta, grads, state):
        inner = {k: v for k, v in state.items() if not k.startswith("cos/")}
        updates, new = self.inner(meta, grads, inner)
        t = state["cos/t"] + 1.0
        T = tf.maximum(state["cos/horizon"], 1.0)
        factor = 0.5 * (1.0 + tf.cos(math.pi * tf.minimum(t / T, 1.0)))
        return updates * factor, dict(new, **{"cos/t": t, "cos/horizon": state["cos/horizon"]})

name, steps = sys.argv[1], int(sys.argv[2])
seeds = (0, 1, 2)
p = get_problem(name, default_data_dir())
v2 = TrainedRule.from_preset("general-v2")
cands = [("v2", v2.rule, v2.meta_tensors()), ("v2+cos", Cosine(v2.rule), v2.meta_tensors())]
for lr in [float(x) for x in sys.argv[3].split(",")]:
    cands.append((f"adam {lr:g}", Adam(lr), Adam(lr).init_meta_params()))
    cands.append((f"adam {lr:g}+cos", Cosine(Adam(lr)), Adam(lr).init_meta_params()))
for label, rule, meta in cands:
    run = make_rollout(rule, p)
    finals = []
    for seed in seeds:
        params = flat.flatten(p.init_params(seed))
        _, final = run(meta, params, tf.constant(seed, tf.int64), tf.constant(steps))
        finals.append(float(p.eval_loss(flat.unflatten(final, p.shapes()), seed)))
    print(f"{label:18s} mean {np.mean(finals):.4g}  per seed " + " ".join(f"{x:.3g}" for x in finals), flush=True)
