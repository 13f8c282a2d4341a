"""Cut the MNIST subset embedded in keras_l2l (keras_l2l/data/mnist_subset.npz).

    python benchmarks/make_mnist_subset.py /path/to/mnist.npz [--out PATH]

reads a full Keras-layout mnist.npz and writes 400 training images per digit (from
MNIST's training split) and 100 test images per digit (from its test split), drawn by
`keras_l2l.datasets.cut_mnist_subset` with numpy.random.default_rng(0), as uint8 arrays
x_train, y_train, x_test, y_test with numpy.savez_compressed. The same input gives the
same arrays (tests/test_datasets.py checks the shipped file against it).
"""

import argparse

import numpy as np

from keras_l2l import datasets


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", help="a full MNIST mnist.npz in Keras' layout")
    parser.add_argument("--out", default=str(datasets.EMBEDDED_MNIST))
    args = parser.parse_args(argv)
    with np.load(args.source, allow_pickle=False) as f:
        arrays = datasets.cut_mnist_subset(f["x_train"], f["y_train"], f["x_test"], f["y_test"])
    np.savez_compressed(args.out, **arrays)
    print(f"Wrote {args.out}: " + ", ".join(f"{k} {v.shape}" for k, v in arrays.items()))


if __name__ == "__main__":
    main()
