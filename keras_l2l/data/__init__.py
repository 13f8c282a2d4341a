"""Small real datasets shipped with keras_l2l, for machines with no network and no data.

`mnist_subset.npz`: 4,000 training and 1,000 test images of MNIST (see ATTRIBUTION.md),
read by `keras_l2l.datasets.load_embedded_mnist`; `make_subset.py` cut it.
"""
