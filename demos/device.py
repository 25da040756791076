"""Where a demo runs: CUDA, then Apple MPS, then CPU, and what speeds it up there.

`resolve("auto")` picks the device; `resolve("cuda")` on a machine without CUDA is a
`UserError` with a one-line reason. The choice also fixes mixed precision (bf16 autocast on
CUDA GPUs that support it, full precision elsewhere: bf16 on CPUs is usually slower) and
whether `torch.compile` is used by default (CUDA only: compiling takes longer than it saves
on a CPU run).

Training demos build their `Accelerator` through `make_accelerator`, so that
`accelerate launch --num_processes N -m learnapp.cli demo ...` runs them on N GPUs unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

import torch

from learnapp.errors import UserError

if TYPE_CHECKING:  # accelerate is imported when a training starts
    # accelerate ships no type information
    from accelerate import Accelerator, PartialState  # type: ignore[import-untyped]

DeviceRequest = Literal["auto", "cuda", "mps", "cpu"]
PrecisionRequest = Literal["auto", "fp32", "bf16"]
CompileRequest = Literal["auto", "on", "off"]


@dataclass(frozen=True)
class Runtime:
    device: torch.device
    name: str  # what a learner recognises: "NVIDIA H100 80GB HBM3", "Apple MPS", "CPU (2 threads)"
    mixed_precision: Literal["no", "bf16"]
    compile: bool
    num_processes: int = 1
    process_index: int = 0

    @property
    def is_main_process(self) -> bool:
        return self.process_index == 0

    def autocast(self) -> torch.autocast:
        """bf16 autocast where the runtime chose it, a no-op context otherwise (for inference loops)."""
        return torch.autocast(self.device.type, dtype=torch.bfloat16, enabled=self.mixed_precision == "bf16")

    def describe(self) -> dict[str, object]:
        return {
            "device": str(self.device),
            "name": self.name,
            "mixed_precision": self.mixed_precision,
            "compile": self.compile,
            "num_processes": self.num_processes,
        }


def resolve(
    request: DeviceRequest = "auto", precision: PrecisionRequest = "auto", compile: CompileRequest = "auto"
) -> Runtime:
    """The device, precision and compile choice for this process (under `accelerate launch`: this rank's GPU)."""
    if request == "cuda" and not torch.cuda.is_available():
        built = (
            "without CUDA" if torch.version.cuda is None else f"with CUDA {torch.version.cuda}, but no GPU is visible"
        )
        raise UserError(f"--device cuda: this torch {torch.__version__} was built {built}; use --device cpu or auto")
    if request == "mps" and not torch.backends.mps.is_available():
        raise UserError("--device mps: Apple MPS is not available on this machine; use --device cpu or auto")
    if request not in ("auto", "cuda", "mps", "cpu"):
        raise UserError(f"--device {request}: choose auto, cuda, mps or cpu")

    state = _process_state(cpu=request == "cpu")
    device = state.device
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        bf16_ok = torch.cuda.is_bf16_supported()
    elif device.type == "mps":
        name, bf16_ok = "Apple MPS", False
    else:
        name, bf16_ok = f"CPU ({torch.get_num_threads()} threads)", True

    if precision == "bf16" and not bf16_ok:
        raise UserError(f"--precision bf16: not supported on {name}; use --precision fp32")
    use_bf16 = precision == "bf16" or (precision == "auto" and device.type == "cuda" and bf16_ok)
    use_compile = compile == "on" or (compile == "auto" and device.type == "cuda")
    return Runtime(
        device=device,
        name=name,
        mixed_precision="bf16" if use_bf16 else "no",
        compile=use_compile,
        num_processes=state.num_processes,
        process_index=state.process_index,
    )


def make_accelerator(runtime: Runtime, gradient_accumulation_steps: int = 1) -> Accelerator:
    """An `Accelerator` for `runtime`, on a fresh Accelerate state in a single process (see `_process_state`)."""
    from accelerate import Accelerator

    _process_state(cpu=runtime.device.type == "cpu")
    return Accelerator(
        cpu=runtime.device.type == "cpu",
        mixed_precision=runtime.mixed_precision,
        gradient_accumulation_steps=gradient_accumulation_steps,
    )


def _process_state(cpu: bool) -> PartialState:
    """Accelerate's per-process state, set up anew unless `accelerate launch` started several processes.
    Accelerate keeps one global state and refuses an Accelerator with other settings (device,
    precision) than the first, which running two demos in one app session would otherwise hit."""
    from accelerate import PartialState

    reset_accelerate_state()
    return PartialState(cpu=cpu)


def reset_accelerate_state() -> None:
    """Forget Accelerate's process-wide state, unless `accelerate launch` set up several processes.

    Accelerate (1.15) has no public way to do this; its own test utilities do it like this. This is
    the one place that touches its private `_shared_state` and `_reset_state`:
    tests/test_demos_device.py fails when an Accelerate release changes them."""
    from accelerate import PartialState

    # accelerate ships no type information
    from accelerate.state import AcceleratorState  # type: ignore[import-untyped]

    if PartialState._shared_state and PartialState().num_processes == 1:
        AcceleratorState._reset_state(reset_partial_state=True)
