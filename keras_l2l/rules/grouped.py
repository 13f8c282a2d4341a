"""`GroupedRule`: one sub-rule per group of variables (the paper's conv and dense LSTMs).

Andrychowicz et al. (2016) found one coordinatewise LSTM too little for their
CIFAR-10 conv net and gave the convolutional and the fully connected
parameters an LSTM each. Here that is a general mechanism: every variable
belongs to one named group, and each group's coordinates go to that group's
own sub-rule (own meta-parameters, own state), any `UpdateRule` at all.
"""

import numpy as np
from keras import ops

from keras_l2l.rules import backend_ops
from keras_l2l.rules.base import UpdateRule
from keras_l2l.rules.registry import deserialize_rule, register_rule, serialize_rule

#: The groups `assignment="kind"` knows, in the order they are written below.
KINDS = ("conv", "dense")


def group_by_kind(shapes):
    """The kind of each variable of `shapes`, told from its shape alone.

    - rank >= 3 (convolution kernels): "conv";
    - rank 2 (dense kernels, embeddings): "dense";
    - rank <= 1 (biases, batch-norm scales and offsets): the kind of the nearest
      kernel before it, since Keras creates a layer's kernel before its bias and a
      batch norm after the layer it normalizes; with no kernel before it, that of
      the first kernel after it; "dense" in a model without kernels.
    """
    kinds = [None if len(s) <= 1 else ("conv" if len(s) >= 3 else "dense") for s in shapes]
    known = [k for k in kinds if k is not None]
    last = known[0] if known else "dense"
    for i, kind in enumerate(kinds):
        last = kinds[i] = kind or last
    return kinds


@register_rule
class GroupedRule(UpdateRule):
    """Sends each variable's coordinates to the sub-rule of its group.

    Args:
        groups: `{group name: UpdateRule or its {"class_name", "config"}}`; names
            are Python identifiers. Meta-parameters and state entries are
            namespaced `"<group>.<name>"`.
        assignment: `"kind"` assigns variables by `group_by_kind` (group names
            must then be among `KINDS`: "conv", "dense"); or a list of group
            names, one per variable in the model's (flattened) order.

    The rule needs the variables' shapes, so its state comes from
    `initial_state_for(shapes)`, which every caller uses. Each group's state
    holds the indices of its coordinates in the flat vector (int32, 4 bytes per
    parameter); a group without variables gets no state. The rule runs over all
    coordinates at once: `LearnedOptimizer`'s `chunk_size` does not apply.
    `init_meta_params(seed)` starts every group at its sub-rule's `seed`.
    """

    def __init__(self, groups, assignment="kind"):
        if not isinstance(groups, dict) or not groups:
            raise ValueError(
                "`groups` must be a non-empty dict {group name: rule}, e.g. "
                "{'conv': CoordinatewiseLSTM(), 'dense': CoordinatewiseLSTM()}."
            )
        self.groups = {}
        for name, rule in groups.items():
            if not isinstance(name, str) or not name.isidentifier():
                raise ValueError(f"Group names must be Python identifiers, got {name!r}.")
            rule = deserialize_rule(rule) if isinstance(rule, dict) else rule
            if not isinstance(rule, UpdateRule):
                raise TypeError(
                    f"Group {name!r} needs an UpdateRule or its config, got {type(rule).__name__}."
                )
            serialize_rule(rule)  # a group that could not be saved is refused up front
            self.groups[name] = rule
        if assignment == "kind":
            unknown = sorted(set(self.groups) - set(KINDS))
            if unknown:
                raise ValueError(
                    f"Unknown group(s) {unknown} for assignment='kind', which assigns every "
                    f"variable to one of {KINDS}; rename the groups, or pass assignment=[...] "
                    "with one group name per variable."
                )
        elif isinstance(assignment, (list, tuple)) and all(isinstance(a, str) for a in assignment):
            unknown = sorted(set(assignment) - set(self.groups))
            if unknown:
                raise ValueError(
                    f"assignment names unknown group(s) {unknown}; the groups are "
                    f"{sorted(self.groups)}."
                )
            assignment = list(assignment)
        else:
            raise ValueError(
                f"`assignment` must be 'kind' or a list of group names, got {assignment!r}."
            )
        self.assignment = assignment
        rules = self.groups.values()
        self.needs_params = any(rule.needs_params for rule in rules)
        self.compile_with_xla = any(getattr(rule, "compile_with_xla", False) for rule in rules)

    def get_config(self):
        return {
            "groups": {name: serialize_rule(rule) for name, rule in self.groups.items()},
            "assignment": self.assignment,
        }

    # -- meta-parameters -------------------------------------------------------

    def meta_param_shapes(self):
        return {
            f"{name}.{key}": shape
            for name, rule in self.groups.items()
            for key, shape in rule.meta_param_shapes().items()
        }

    def init_meta_params(self, seed=0):
        return {
            f"{name}.{key}": value
            for name, rule in self.groups.items()
            for key, value in rule.init_meta_params(seed).items()
        }

    # -- which variables go where ------------------------------------------------

    def variable_groups(self, shapes):
        """The group name of each variable of `shapes`; a clear error when one has no group."""
        shapes = [tuple(s) for s in shapes]
        if self.assignment == "kind":
            names = group_by_kind(shapes)
        else:
            if len(self.assignment) != len(shapes):
                raise ValueError(
                    f"assignment lists {len(self.assignment)} group names but the model has "
                    f"{len(shapes)} variables; give one per variable."
                )
            names = self.assignment
        for index, (name, shape) in enumerate(zip(names, shapes)):
            if name not in self.groups:
                raise ValueError(
                    f"Variable {index} (shape {shape}) is of kind {name!r}, but this "
                    f"GroupedRule has no such group (groups: {sorted(self.groups)}). Add a "
                    f"{name!r} group, or pass assignment=[...] with one group per variable."
                )
        return names

    def _members(self, shapes):
        """`{group: indices of its variables}`, groups without variables left out."""
        members = {}
        for index, name in enumerate(self.variable_groups(shapes)):
            members.setdefault(name, []).append(index)
        return {name: members[name] for name in self.groups if name in members}

    # -- state -------------------------------------------------------------------

    def init_state(self, num_coordinates):
        return self.initial_state([num_coordinates])

    def initial_state(self, sizes):
        if self.assignment == "kind":
            raise ValueError(
                "GroupedRule(assignment='kind') assigns variables by their shapes: call "
                "initial_state_for(shapes), or pass assignment=[...] with one group per variable."
            )
        return self.initial_state_for([(int(s),) for s in sizes])

    def initial_state_for(self, shapes):
        shapes = [tuple(int(d) for d in s) for s in shapes]
        starts = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
        state = {}
        for name, members in self._members(shapes).items():
            coordinates = np.concatenate(
                [np.arange(starts[i], starts[i + 1]) for i in members]
            )
            state[f"{name}-coordinates"] = backend_ops.constant(coordinates, "int32")
            sub_state = self.groups[name].initial_state_for([shapes[i] for i in members])
            state.update({f"{name}.{key}": value for key, value in sub_state.items()})
        return state

    def state_kind(self, key):
        name, sep, sub_key = key.partition(".")
        return self.groups[name].state_kind(sub_key) if sep else "global"

    def state_owners(self, key, shapes):
        name, sep, sub_key = key.partition(".")
        if not sep:  # a group's coordinate indices: a constant, never rewritten
            return None
        members = self._members(shapes)[name]
        owners = self.groups[name].state_owners(sub_key, [tuple(shapes[i]) for i in members])
        return None if owners is None else np.asarray(members)[owners]

    # -- the update --------------------------------------------------------------

    def __call__(self, meta_params, grads, state, params=None):
        indices, updates, new_state = [], [], {}
        for name, rule in self.groups.items():
            index_key = f"{name}-coordinates"
            if index_key not in state:  # no variable of this group
                continue
            index = state[index_key]
            prefix = f"{name}."
            sub_meta = {k[len(prefix):]: v for k, v in meta_params.items() if k.startswith(prefix)}
            sub_state = {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}
            extra = (backend_ops.gather_rows(params, index),) if rule.needs_params else ()
            step, sub_state = rule(sub_meta, backend_ops.gather_rows(grads, index), sub_state, *extra)
            indices.append(index)
            updates.append(step)
            new_state[index_key] = index
            new_state.update({prefix + k: v for k, v in sub_state.items()})
        # The groups partition the coordinates, so scattering their updates back
        # writes every coordinate exactly once.
        updates = ops.scatter(
            ops.concatenate(indices)[:, None], ops.concatenate(updates), ops.shape(grads)
        )
        return updates, new_state
