"""Training through Accelerate runs unchanged on several processes.

`accelerate launch --multi_gpu --num_processes 2` is the command a learner with two GPUs types;
without GPUs it starts two CPU processes over gloo (Accelerate 1.x's `--cpu` flag alone starts
only one process: multi-CPU there means mpirun), so this is the real launcher, on CPU.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from demo_helpers import TINY, metrics, only_run


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_process_training_with_accelerate_launch(tmp_path):
    accelerate = Path(sys.executable).with_name("accelerate")
    command = [
        str(accelerate),
        "launch",
        "--multi_gpu",
        "--num_processes",
        "2",
        "--num_machines",
        "1",
        "--mixed_precision",
        "no",
        "--dynamo_backend",
        "no",
        "--main_process_port",
        str(free_port()),
        "-m",
        "learnapp.cli",
        "demo",
        "unet-training",
        *TINY["unet-training"],
        "--out",
        str(tmp_path),
    ]
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=240)
    assert done.returncode == 0, done.stderr[-3000:]
    run = only_run(tmp_path, "unet-training")  # one folder, shared by both processes
    record = metrics(run)
    assert record["status"] == "complete" and record["device"]["num_processes"] == 2
    # Each process trained on its own half of every epoch: 2 epochs x 256 images in all.
    assert record["metrics"]["unet2d"]["images"] == 512
    assert (run / "unet2d-pipeline" / "model_index.json").is_file()
