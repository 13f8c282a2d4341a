"""Under tf.distribute, a LearnedOptimizer trains exactly as on one device.

Each run is a fresh process (`tests/distributed_fit.py`): logical devices
must be configured before TensorFlow starts, and a multi-worker cluster is
one process per worker on 127.0.0.1.
"""

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

SCRIPT = Path(__file__).with_name("distributed_fit.py")
TIMEOUT_S = 240


def _run(out, *args, env=None):
    command = [sys.executable, str(SCRIPT), str(out), *args]
    return subprocess.Popen(
        command, env=dict(os.environ, **(env or {})), stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )


def _finish(process):
    output, _ = process.communicate(timeout=TIMEOUT_S)
    assert process.returncode == 0, output.decode()[-3000:]


def _max_difference(a, b):
    a, b = np.load(a), np.load(b)
    assert sorted(a.files) == sorted(b.files)
    return max(float(np.max(np.abs(a[k] - b[k]))) for k in a.files)


def _free_ports(count):
    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


@pytest.mark.parametrize("preset", ["general", "mnist"])
def test_fit_under_mirrored_strategy_matches_one_device(preset, tmp_path):
    single, mirrored = tmp_path / "single.npz", tmp_path / "mirrored.npz"
    runs = [
        _run(single, "--optimizer", preset),
        _run(mirrored, "--optimizer", preset, "--strategy", "mirrored", "--devices", "2"),
    ]
    for run in runs:
        _finish(run)
    # weights and every optimizer variable (meta-weights, LSTM state, counters)
    assert _max_difference(single, mirrored) < 1e-5


def test_multi_worker_training_matches_one_process(tmp_path):
    single = tmp_path / "single.npz"
    workers = [tmp_path / f"worker{i}.npz" for i in range(2)]
    cluster = {"worker": [f"127.0.0.1:{port}" for port in _free_ports(2)]}
    runs = [_run(single, "--optimizer", "general", "--loop", "custom")]
    for index, out in enumerate(workers):
        config = {"cluster": cluster, "task": {"type": "worker", "index": index}}
        runs.append(
            _run(
                out,
                "--optimizer", "general", "--strategy", "multi-worker", "--loop", "custom",
                env={"TF_CONFIG": json.dumps(config)},
            )
        )
    for run in runs:
        _finish(run)
    for out in workers:
        assert _max_difference(single, out) < 1e-5


def test_data_parallel_meta_training_matches_one_device(tmp_path):
    script = SCRIPT.with_name("distributed_meta.py")
    single, mirrored = tmp_path / "single.npz", tmp_path / "mirrored.npz"
    runs = [
        subprocess.Popen([sys.executable, str(script), str(out), *args],
                         stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        for out, args in ((single, []), (mirrored, ["--devices", "2"]))
    ]
    for run in runs:
        _finish(run)
    a = np.load(single)
    assert np.all(np.isfinite(a["meta_loss"])) and a["meta_loss"][-1] < a["meta_loss"][0]
    assert _max_difference(single, mirrored) < 1e-5  # meta-weights and meta-losses
