"""Evaluating a learned optimizer against tuned baselines: results.json, report.md, curves.png."""

from keras_l2l.evaluation.evaluate import DEFAULT_BASELINES, evaluate, load_rule
from keras_l2l.evaluation.report import write_report
from keras_l2l.evaluation.stats import t_interval
