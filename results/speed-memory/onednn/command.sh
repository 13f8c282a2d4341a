#!/bin/sh
# The update and `fit` benchmarks with TensorFlow's oneDNN kernels off and on. TensorFlow
# turns them on by default only on CPUs with AVX-512-class features; this machine has AVX2.
# Run from the repository root: sh results/speed-memory/onednn/command.sh
set -e
cd benchmarks
for flag in 0 1; do
  TF_ENABLE_ONEDNN_OPTS=$flag python run.py --quick --sections update,fit \
    --out ../results/speed-memory/onednn/onednn-$flag > /dev/null
done
