"""NTM-BFGS: an LSTM-GAC controller with a low-rank memory shared across coordinates.

The equations, how they relate to the paper, and the state layout are in
`NTMBFGS`'s docstring.
"""

from keras import ops

from keras_l2l import preprocessing as prep
from keras_l2l.rules.gac import _GACNetwork, _positive_int, global_mean
from keras_l2l.rules.registry import register_rule


@register_rule
class NTMBFGS(_GACNetwork):
    """LSTM-GAC controller + a memory of its last `memory_size` outer-product writes.

    Andrychowicz et al. (2016, Appendix B) give the LSTM-GAC controller an
    external memory that, like the inverse-Hessian approximation of BFGS, is
    an n x n matrix built from outer products of vectors the controller writes,
    and read by multiplying it with a vector the controller emits. An n x n
    matrix does not scale to models, so this rule keeps the memory in its
    low-rank, limited-memory form, as L-BFGS keeps its last K (s, y) pairs:

        M_t = (1/n) * sum_{k=1..K} a^(t-k+1) b^(t-k+1)^T      (the K latest writes)

    stored as two per-coordinate matrices `A, B` `[n, K]` (column 0 newest),
    never as an n x n matrix. One step, for every coordinate j:

        x_j          = [preprocess(g_j), r_j(t-1)]                  controller input
        (d, a~, b~, q~)_j = LSTM-GAC(x_j) @ W_out + b_out            4 outputs
        a_j, b_j, q_j = tanh(a~_j), tanh(b~_j), tanh(q~_j)           write vectors, read key
        A' = [a, A[:, :K-1]],  B' = [b, B[:, :K-1]]                  write (oldest pair dropped)
        r_j          = sum_k A'_jk * (1/n) sum_i B'_ik q_i            read: r = M_t q
        update_j     = output_scale * (d_j + r_j)

    so the read is `K` inner products over all coordinates (the second place,
    after the averaging cells, where coordinates share information) followed by
    a per-coordinate combination, O(nK) work. The `1/n` keeps reads of the same
    size for any number of coordinates (BFGS's own products are unnormalised).
    The read also goes back into the controller at the next step, as in an NTM.

    What differs from the paper's description: the memory holds only the last
    `memory_size` outer products instead of the full sum (the paper's memory
    has no such limit but is n x n); there is one write pair and one read head
    per step; writes and reads are these plain products, with no content-based
    addressing. It is still permutation equivariant and dimension-free.

    State per coordinate: the controller's (see `LSTMGAC`: `4 * num_layers *
    (2 * units - global_units)` bytes), the memory `A, B` (`8 * memory_size`
    bytes) and the last read (4 bytes); globally the averaged cell outputs.
    With the defaults (20 units, 4 global, 2 layers, memory 4): 288 + 32 + 4 =
    324 bytes per coordinate in float32.

    Args:
        units, num_layers, global_units: the controller's LSTM-GAC, as in `LSTMGAC`.
        preprocessing, preprocessing_p, output_scale: as in `LSTMGAC`.
        memory_size: K, the number of outer products the memory keeps.
    """

    _extra_inputs = 1  # the previous read
    _num_outputs = 4  # direct update, write vectors a and b, read key q

    def __init__(self, units=20, num_layers=2, global_units=4, memory_size=4,
                 preprocessing="log_sign", preprocessing_p=10.0, output_scale=0.1):
        self._init_network(units, num_layers, global_units, preprocessing, preprocessing_p,
                           output_scale)
        self.memory_size = _positive_int("memory_size", memory_size)

    def init_state(self, num_coordinates):
        n = num_coordinates
        state = self._network_state(n)
        state["memory_a"] = ops.zeros([n, self.memory_size], dtype="float32")
        state["memory_b"] = ops.zeros([n, self.memory_size], dtype="float32")
        state["read"] = ops.zeros([n], dtype="float32")
        return state

    def __call__(self, meta_params, grads, state):
        x, prep_state = prep.preprocess_step(grads, self.preprocessing, self.preprocessing_p, state)
        x = ops.concatenate([x, state["read"][:, None]], axis=1)
        out, new_state = self._network(meta_params, x, state)
        direct = out[:, 0]
        a, b, q = (ops.tanh(out[:, k]) for k in (1, 2, 3))
        keep = self.memory_size - 1
        memory_a = ops.concatenate([a[:, None], state["memory_a"][:, :keep]], axis=1)
        memory_b = ops.concatenate([b[:, None], state["memory_b"][:, :keep]], axis=1)
        weights = global_mean(memory_b * q[:, None])  # [K]: b_k . q / n
        read = ops.sum(memory_a * weights[None], axis=1)
        new_state.update(prep_state, memory_a=memory_a, memory_b=memory_b, read=read)
        return self.output_scale * (direct + read), new_state

    def get_config(self):
        return dict(self._network_config(), memory_size=self.memory_size)
