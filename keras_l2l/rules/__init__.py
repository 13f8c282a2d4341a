"""Pure update rules: `(meta_params, grads, state) -> (updates, new_state)`."""

from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.hierarchical import HierarchicalLSTM
from keras_l2l.rules.lstm import CoordinatewiseLSTM
from keras_l2l.rules.gac import LSTMGAC
from keras_l2l.rules.ntm_bfgs import NTMBFGS
from keras_l2l.rules.grouped import GroupedRule, group_by_kind
from keras_l2l.rules.baselines import BASELINES, SGD, Adam, AdamW, Momentum, Nesterov, RMSprop

from keras_l2l.rules.registry import RULES, deserialize_rule, register_rule, serialize_rule
