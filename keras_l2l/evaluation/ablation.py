"""Ablations of the paper's coordinatewise LSTM: how much does each part matter, at what cost.

Every variant changes one factor of a base rule and its meta-training (the
shipped preset's settings for that problem): the cell (LSTM, GRU, memoryless
MLP of the same width and depth), the depth, the width, the preprocessing,
second derivatives, and the meta-loss. Each is meta-trained with otherwise
identical settings (`meta_train_preset`), then evaluated (`evaluate`) on the
same held-out seeds as the base rule, which is also compared with tuned
baselines; the summary gives every variant's mean final loss over the base's
and over tuned Adam's, paired by seed, with the meta-training CPU time.

Layout of `out`: `train-<setting>/<variant>/preset` (the meta-trained rule;
its checkpoints are deleted once it is written), `<problem>/<variant>/results.json`,
and `summary.json`, `summary.md`, `ablations.png` rebuilt from all of them,
so rerunning the same command resumes, and runs over other problems add to it.
"""

import json
import shutil
from pathlib import Path

import numpy as np

from keras_l2l import presets
from keras_l2l.evaluation import stats, tuning
from keras_l2l.evaluation.ablation_report import markdown, plot
from keras_l2l.evaluation.evaluate import evaluate, per_seed_finals, weights_sha256
from keras_l2l.evaluation.report import write_json
from keras_l2l.evaluation.suite import ratio
from keras_l2l.meta.export import meta_train_preset
from keras_l2l.problems import get_problem
from keras_l2l.rules import CoordinatewiseLSTM
from keras_l2l.trained_rule import TrainedRule

#: Training settings: the problem meta-trained on and the base rule (the preset's settings).
SETTINGS = {
    "quadratic": ("quadratic-batch", {"preprocessing": "clamped_log_sign",
                                      "preprocessing_p": 5.0, "output_scale": 0.01}),
    "mnist": ("mnist", {"preprocessing": "log_sign", "preprocessing_p": 10.0,
                        "output_scale": 0.1}),
}

#: Evaluation problems: (training setting, problem name, steps). Both MNIST horizons
#: evaluate the same rules, meta-trained at horizon 100.
PROBLEMS = {
    "quadratic": ("quadratic", "quadratic", 100),
    "mnist-100": ("mnist", "mnist", 100),
    "mnist-1000": ("mnist", "mnist", 1000),
}

#: Variants: name -> (factor, rule arguments, MetaTrainer arguments) changed from the base.
VARIANTS = {
    "base": ("base", {}, {}),
    "cell-gru": ("cell", {"cell": "gru"}, {}),
    "cell-mlp": ("cell", {"cell": "mlp"}, {}),
    "layers-1": ("layers", {"num_layers": 1}, {}),
    "layers-3": ("layers", {"num_layers": 3}, {}),
    "units-5": ("units", {"units": 5}, {}),
    "units-10": ("units", {"units": 10}, {}),
    "units-40": ("units", {"units": 40}, {}),
    "prep-none": ("preprocessing", {"preprocessing": "none"}, {}),
    "prep-log-sign": ("preprocessing", {"preprocessing": "log_sign", "preprocessing_p": 10.0}, {}),
    "prep-clamped-log-sign": ("preprocessing", {"preprocessing": "clamped_log_sign",
                                                "preprocessing_p": 5.0}, {}),
    "prep-adam": ("preprocessing", {"preprocessing": "adam"}, {}),
    "second-order": ("second derivatives", {}, {"second_order": True}),
    "loss-final": ("meta-loss", {}, {"meta_loss": "final"}),
    "loss-exponential": ("meta-loss", {}, {"meta_loss": "exponential"}),
    "loss-log": ("meta-loss", {}, {"log_loss": True}),
}

RATIO_METHOD = (
    "mean final eval_loss of the variant / that of the base rule (or of tuned Adam) over "
    "the same evaluation seeds; 95% CI: paired percentile bootstrap over seeds "
    f"({stats.BOOTSTRAP_RESAMPLES} resamples); inf when a variant's seed diverged"
)


def variant_setup(setting, variant):
    """`(rule config, trainer arguments)` of `variant` under training `setting`."""
    _, rule_args, trainer_args = VARIANTS[variant]
    return CoordinatewiseLSTM(**{**SETTINGS[setting][1], **rule_args}).get_config(), trainer_args


def check_names(problems, variants=None):
    """A ValueError naming any unknown problem or variant."""
    for kind, names, known in (("problems", problems, PROBLEMS), ("variants", variants, VARIANTS)):
        unknown = [name for name in names or () if name not in known]
        if unknown:
            raise ValueError(f"Unknown ablation {kind} {unknown}; available: {', '.join(known)}.")


def variants_for(setting, names=None):
    """The variants to run (default all), without those identical to the base here."""
    names = list(VARIANTS) if names is None else list(dict.fromkeys(["base", *names]))
    base = variant_setup(setting, "base")
    return [n for n in names if n == "base" or variant_setup(setting, n) != base]


def ablate(out, problems, epochs, seeds, variants=None, baselines=("adam",), tuning_seeds=3,
           grid="full", learning_rate=1e-3, validation_every=50, validation_runs=10, seed=0,
           data_dir=None, command=None, verbose=1):
    """Meta-train and evaluate each variant for each of `problems`; returns the summary.

    `epochs`: meta-training runs per variant (the budget); `seeds`: evaluation
    seeds 0..K-1; `baselines`: tuned baselines evaluated with the base rule
    only. Finished variants are skipped after checking their settings
    (ValueError if they differ: use another `out`).
    """
    check_names(problems, variants)
    out = Path(out)
    training = {"epochs": int(epochs), "meta_learning_rate": learning_rate, "unroll": 20,
                "validation_every": validation_every, "validation_runs": validation_runs,
                "seed": seed}
    for name in problems:
        setting, problem_name, steps = PROBLEMS[name]
        problem = get_problem(problem_name, data_dir)
        for variant in variants_for(setting, variants):
            trained = _train(out / f"train-{setting}" / variant, setting, variant, training,
                             data_dir, command)
            path = out / name / variant / "results.json"
            if path.is_file():
                _check(json.loads(path.read_text()), trained, seeds)
                continue
            print(f"[{name}] evaluating {variant}", flush=True)
            results = evaluate(trained, problem, steps, seeds,
                               baselines=baselines if variant == "base" else (),
                               tuning_seeds=tuning_seeds, grid=tuning.GRIDS[grid],
                               verbose=verbose)
            write_json({**results, "variant": variant, "training": dict(trained.provenance),
                        "command": command}, path)
    summary = summarize(out)
    write_summary(summary, out, command)
    return summary


def _train(directory, setting, variant, training, data_dir, command):
    """The meta-trained rule of `variant` (trained now unless its preset exists)."""
    config, trainer_args = variant_setup(setting, variant)
    record = {"setting": setting, "variant": variant, **training, **trainer_args}
    preset = directory / "preset"
    if (preset / "config.json").is_file():
        trained = presets.load_preset(preset)
        if trained.provenance.get("ablation") != record:
            raise ValueError(f"{preset} was meta-trained with other settings "
                             f"({trained.provenance.get('ablation')}) than {record}; "
                             "write to another --out, or delete it to retrain.")
        return trained
    print(f"[train-{setting}] meta-training {variant}", flush=True)
    checkpoints = directory / "checkpoints"
    resumed = checkpoints.is_dir()
    start = TrainedRule.untrained(CoordinatewiseLSTM(**config), seed=training["seed"])
    trained = meta_train_preset(
        start, [get_problem(SETTINGS[setting][0], data_dir)], preset, training["epochs"],
        meta_learning_rate=training["meta_learning_rate"], checkpoint_dir=str(checkpoints),
        provenance={"command": command, "ablation": record, "resumed": resumed,
                    "description": f"ablation {variant} on {SETTINGS[setting][0]}"},
        unroll=training["unroll"], validation_every=training["validation_every"],
        validation_runs=training["validation_runs"], seed=training["seed"], **trainer_args,
    )
    shutil.rmtree(checkpoints, ignore_errors=True)  # the preset is the finished result
    return trained


def _check(results, trained, seeds):
    if results["seeds"] != list(range(seeds)) or (
        results["learned_weights_sha256"] != weights_sha256(trained)
    ):
        raise ValueError(f"{results['problem']}/{results['variant']} was evaluated with other "
                         "seeds or weights than this run; use another --out.")


# -- summary -----------------------------------------------------------------------


def summarize(out):
    """The summary dict from every OUT/<problem>/<variant>/results.json (summary.json)."""
    out = Path(out)
    problems = {}
    for name in PROBLEMS:
        found = {variant: json.loads((out / name / variant / "results.json").read_text())
                 for variant in VARIANTS if (out / name / variant / "results.json").is_file()}
        if "base" in found:
            runs = variants_for(PROBLEMS[name][0])
            problems[name] = {**_problem_rows(found),
                              "same_as_base": [v for v in VARIANTS if v not in runs]}
    return {"problems": problems, "factors": {v: factor for v, (factor, _, _) in VARIANTS.items()},
            "methods": {"ratio": RATIO_METHOD}}


def _problem_rows(found):
    base = found["base"]
    adam = base["optimizers"].get("adam")
    rows = {}
    for variant, results in found.items():
        training, learned = results["training"], per_seed_finals(results["optimizers"]["learned"])
        shapes = CoordinatewiseLSTM(**results["learned_rule"]["config"])
        rows[variant] = {
            "factor": VARIANTS[variant][0],
            "rule": results["learned_rule"]["config"],
            "trainer": {k: v for k, v in training["ablation"].items()
                        if k in ("second_order", "meta_loss", "log_loss")},
            "final_loss": stats.summary(learned),
            "ratio_to_base": ratio(learned, per_seed_finals(base["optimizers"]["learned"])),
            "ratio_to_adam": None if adam is None else ratio(learned, per_seed_finals(adam)),
            "diverged_seeds": results["diverged_seeds"]["learned"],
            "meta_parameters": int(sum(np.prod(s) for s in shapes.meta_param_shapes().values())),
            "state_floats_per_coordinate": _state_floats(shapes),
            "meta_train_cpu_seconds": round(training["cpu_hours_this_session"] * 3600, 1),
            "meta_train_wall_seconds": training["seconds_this_session"],
            "cpu_time_partial": training.get("resumed", False),
            "epochs": training["epochs"],
            "best_validation_loss": training["best_validation_loss"],
            "seconds_per_step": results["optimizers"]["learned"]["seconds_per_step"],
        }
    return {
        "problem": base["problem"], "steps": base["steps"], "seeds": base["seeds"],
        "adam": None if adam is None else {"learning_rate": adam["learning_rate"],
                                           "final_loss": adam["final_loss"]},
        "git_hash": base["training"].get("git_hash"),
        "variants": rows,
    }


def _state_floats(rule):
    state = rule.init_state(1)
    return int(sum(np.prod(v.shape) for v in state.values()))


def write_summary(summary, out, command=None):
    """OUT/summary.json, summary.md and ablations.png."""
    out = Path(out)
    write_json({**summary, "command": command}, out / "summary.json")
    (out / "summary.md").write_text(markdown(summary))
    plot(summary, out / "ablations.png")
