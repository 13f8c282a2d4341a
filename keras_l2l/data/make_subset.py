"""Cut the embedded MNIST subset (`mnist_subset.npz`) from a full Keras-layout `mnist.npz`.

    python -m keras_l2l.data.make_subset /path/to/mnist.npz

writes `keras_l2l/data/mnist_subset.npz` (the default `--out`): 400 training images per
digit from MNIST's training split and 100 test images per digit from its test split,
chosen uniformly without replacement by `numpy.random.default_rng(0)`, then shuffled
with the same generator. uint8 arrays under the keys `x_train`, `y_train`, `x_test`,
`y_test`, saved with `numpy.savez_compressed`. The same input and seed give the same
arrays (the archive's bytes may differ with the zip library, so compare arrays).
"""

import argparse
from pathlib import Path

import numpy as np

TRAIN_PER_CLASS = 400
TEST_PER_CLASS = 100
SEED = 0
DEFAULT_OUT = Path(__file__).resolve().parent / "mnist_subset.npz"


def balanced_indices(labels, per_class, rng):
    """`per_class` indices of each label 0..9, drawn without replacement, then shuffled."""
    labels = np.asarray(labels)
    chosen = [np.sort(rng.choice(np.flatnonzero(labels == c), per_class, replace=False))
              for c in range(10)]
    return rng.permutation(np.concatenate(chosen))


def cut_subset(x_train, y_train, x_test, y_test, train_per_class=TRAIN_PER_CLASS,
               test_per_class=TEST_PER_CLASS, seed=SEED):
    """The subset's four arrays (uint8) as a dict, from the full splits."""
    rng = np.random.default_rng(seed)
    train = balanced_indices(y_train, train_per_class, rng)
    test = balanced_indices(y_test, test_per_class, rng)
    return {
        "x_train": np.asarray(x_train, np.uint8)[train],
        "y_train": np.asarray(y_train, np.uint8)[train],
        "x_test": np.asarray(x_test, np.uint8)[test],
        "y_test": np.asarray(y_test, np.uint8)[test],
    }


def make_subset(source, out=DEFAULT_OUT, seed=SEED):
    """Read `source` (a Keras-layout mnist.npz), write the subset to `out`; returns `out`."""
    with np.load(source, allow_pickle=False) as f:
        arrays = cut_subset(f["x_train"], f["y_train"], f["x_test"], f["y_test"], seed=seed)
    out = Path(out)
    np.savez_compressed(out, **arrays)
    return out


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a full MNIST mnist.npz in Keras' layout")
    parser.add_argument("--out", default=str(DEFAULT_OUT))
    parser.add_argument("--seed", type=int, default=SEED)
    args = parser.parse_args(argv)
    out = make_subset(args.source, args.out, args.seed)
    print(f"Wrote {out} ({out.stat().st_size / 1e6:.2f} MB).")


if __name__ == "__main__":
    main()
