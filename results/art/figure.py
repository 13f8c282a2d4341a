"""art.png: content, style and the images made by the learned optimizer, tuned Adam and
L-BFGS (evaluation seed 0, 100 steps), beside each evaluation's loss curves.

Usage: python results/art/figure.py PRESET_DIR EVAL_DIR... (run by evaluate.sh). The images are
recomputed here from the seed, the preset and Adam's tuned rate in results.json; the
curves are read from results.json.
"""

import json
import sys
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from keras_l2l import flat
from keras_l2l.evaluation import lbfgs, load_rule, runs
from keras_l2l.evaluation.report import draw_losses
from keras_l2l.problems import get_problem
from keras_l2l.rollout import make_rollout
from keras_l2l.rules import Adam

HERE = Path(__file__).parent
SEED, STEPS = 0, 100


def final_images(problem, learned, adam_rate):
    """`{name: image}` after STEPS steps from seed SEED's start, for the three optimizers."""
    seed = runs.seed_tensor(SEED)
    start = flat.flatten(problem.init_params(seed))
    finals = {}
    for name, rule, meta in (("learned", learned.rule, learned.meta_tensors()),
                             ("adam", Adam(), runs.learning_rate_params(adam_rate))):
        finals[name] = runs.run_seed(make_rollout(rule, problem), meta, start, SEED, STEPS)[1]
    finals["lbfgs"] = lbfgs.run_lbfgs(lbfgs.compile_value_and_grad(problem), start, SEED, STEPS)[1]
    return {name: flat.unflatten(final, problem.shapes())[0].numpy() for name, final in finals.items()}


def main(preset, *evaluations):
    learned = load_rule(preset)
    figure = Figure(figsize=(19, 3.6 * len(evaluations)), dpi=100)
    grid = figure.add_gridspec(len(evaluations), 7, width_ratios=[1] * 5 + [0.15, 2.2])
    for row, directory in enumerate(evaluations):
        results = json.loads((Path(directory) / "results.json").read_text())
        problem = get_problem(results["problem"])
        optimizers = results["optimizers"]
        images = final_images(problem, learned, optimizers["adam"]["learning_rate"])
        seed = runs.seed_tensor(SEED)
        panels = [("content (seed 0)", problem.batch(seed, 0).numpy()),
                  (f"style: {problem.style}", problem.style_image.numpy())]
        for key, label in (("learned", "learned"), ("adam", "tuned Adam"), ("lbfgs", "L-BFGS")):
            loss = float(problem.eval_loss([images[key]], seed))
            panels.append((f"{label}: loss {loss:.3f}", images[key]))
        for column, (title, image) in enumerate(panels):
            axis = figure.add_subplot(grid[row, column])
            axis.imshow(np.clip(image, 0.0, 1.0))
            axis.set_title(title, fontsize=9)
            axis.axis("off")
        axis = figure.add_subplot(grid[row, 6])
        draw_losses(axis, results)
        axis.set_title(f"{results['problem']}: {len(results['seeds'])} seeds, "
                       f"{results['steps']} steps", fontsize=9)
        axis.set_xlabel("optimizee step")
    figure.suptitle(f"Style transfer, random-feature network; learned optimizer: {preset}",
                    fontsize=11)
    figure.tight_layout()
    figure.savefig(HERE / "art.png")
    print(f"Wrote {HERE / 'art.png'}")


if __name__ == "__main__":
    main(*sys.argv[1:])
