"""Device, precision and compile choices, and Accelerate's global state across demo runs."""

from __future__ import annotations

import pytest
import torch

from learnapp.demos.device import make_accelerator, reset_accelerate_state, resolve
from learnapp.errors import UserError


def test_a_cpu_runs_in_full_precision_and_eager_unless_asked():
    runtime = resolve("cpu")
    assert runtime.device.type == "cpu" and runtime.mixed_precision == "no" and not runtime.compile
    assert resolve("cpu", "bf16", "on").mixed_precision == "bf16" and resolve("cpu", compile="on").compile
    assert runtime.describe()["num_processes"] == 1 and runtime.is_main_process


def test_missing_accelerators_are_one_line_user_errors(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for request in ("cuda", "mps"):
        with pytest.raises(UserError, match=f"--device {request}:.*use --device cpu"):
            resolve(request)


def test_one_process_can_run_demos_with_different_precisions_in_turn():
    # Accelerate alone refuses a second Accelerator with another mixed precision in a process.
    for precision, expected in (("fp32", "no"), ("bf16", "bf16"), ("auto", "no")):
        assert make_accelerator(resolve("cpu", precision)).mixed_precision == expected


def test_the_reset_of_accelerates_private_state_still_works():
    # reset_accelerate_state reaches into Accelerate's private state (it has no public reset): when a
    # release renames or changes it, this fails here rather than in a learner's second demo run.
    from accelerate import PartialState
    from accelerate.state import AcceleratorState, is_initialized

    make_accelerator(resolve("cpu", "bf16"))
    assert is_initialized() and PartialState._shared_state and AcceleratorState._shared_state
    reset_accelerate_state()
    assert not is_initialized() and not PartialState._shared_state and not AcceleratorState._shared_state
    assert make_accelerator(resolve("cpu", "fp32")).mixed_precision == "no"  # a fresh state takes new settings
