"""The starting point of the `cifar10` preset: a GroupedRule whose conv and dense LSTMs both
start from the `mnist` preset's weights (the paper's 2 x 20 coordinatewise LSTM, log-sign
preprocessing p = 10, output scale 0.1), written as a preset directory for `--init-from`."""

import sys

from keras_l2l import TrainedRule
from keras_l2l.rules import GroupedRule

mnist = TrainedRule.from_preset("mnist")
rule = GroupedRule({"conv": mnist.rule, "dense": mnist.rule})
weights = {f"{g}.{k}": v for g in rule.groups for k, v in mnist.meta_params.items()}
TrainedRule(rule, weights, {"started_from": "mnist", "note": __doc__}).save_to_preset(sys.argv[1])
