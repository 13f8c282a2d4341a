# Per-task ms per optimizee step: python results/general-c/timing.py NAME,NAME,... (writes JSON lines;
# timing.jsonl holds the run behind results/general-c/command.sh's estimate).
"""ms per optimizee step: a rollout of the general rule (forward only, fastest of 3 x 100
steps), and meta-training (MetaTrainer, horizon 40 = 2 truncations of unroll 20, forward +
backward, random scaling 1, log loss; fastest of 4 runs), one task at a time."""
import sys, time, json
import numpy as np, tensorflow as tf
from keras_l2l import flat
from keras_l2l.problems import get_problem, family
from keras_l2l.rollout import make_rollout
from keras_l2l.trained_rule import TrainedRule
from keras_l2l.meta.trainer import MetaTrainer

general = TrainedRule.from_preset("general-v1")
names = sys.argv[1].split(",")
out = {}
for name in names:
    p = get_problem(name)
    nparams = sum(int(np.prod(s)) for s in p.shapes())
    run = make_rollout(general.rule, p)
    meta = general.meta_tensors() if hasattr(general, "meta_tensors") else general.meta_params
    params = flat.flatten(p.init_params(0))
    run(meta, params, tf.constant(0, tf.int64), tf.constant(5))
    steps, roll = 100, []
    for _ in range(3):  # the fastest of 3: the machine is shared, slower runs waited for it
        t = time.perf_counter()
        losses, _ = run(meta, params, tf.constant(0, tf.int64), tf.constant(steps))
        roll.append((time.perf_counter() - t) / steps * 1000)
    roll = min(roll)
    tr = MetaTrainer(general, [p], horizon=40, unroll=20, validation_every=0, log_loss=True,
                     random_scaling=1.0, clip_norm=1.0)
    tr.train_epoch(0)
    meta_ms = []
    for epoch in range(1, 5):  # one run of 40 steps each; the fastest of 4
        t = time.perf_counter(); tr.train_epoch(epoch)
        meta_ms.append((time.perf_counter() - t) / 40 * 1000)
    meta_ms = min(meta_ms)
    l = losses.numpy()
    out[name] = dict(params=nparams, rollout_ms=round(roll, 2), meta_ms=round(meta_ms, 2),
                     loss0=float(l[0]), loss_end=float(l[-10:].mean()))
    print(json.dumps({name: out[name]}), flush=True)
