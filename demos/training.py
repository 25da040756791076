"""The training loop every training demo shares, through 🤗 Accelerate.

`train(model, loss_fn, data, schedule, runtime, seed, progress, stage)` runs epochs over an
`ImageSet` that already lives on the device. A demo supplies only `loss_fn(model, images,
labels, generator) -> loss`, the objective it teaches (x0 prediction, noise prediction,
classifier-free guidance, ...).

What makes it fast on a GPU without changing what it computes:
- the data set stays on the device; batches are index lookups, no host-side loader;
- bf16 autocast and channels_last where the runtime chose them, `torch.compile` if asked;
- no host sync per step: losses are written into a device tensor and read once at the end
  (the progress note reads the latest loss at most twice a second);
- full batches only (the epoch's remainder is dropped), so compiled graphs never see a new shape.

Under `accelerate launch` every process takes its own shard of each epoch's permutation and
gradients are averaged by DDP; `schedule.batch_size` is per process.
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any, Literal, Protocol, TypeVar, cast

import torch

from learnapp.errors import UserError

from .base import Progress
from .device import Runtime, make_accelerator

LossFn = Callable[[torch.nn.Module, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]
EpochHook = Callable[[int, torch.nn.Module], None]  # (epochs done, the model in eval mode)
ModelT = TypeVar("ModelT", bound=torch.nn.Module)


class Batches(Protocol):
    """What `train` draws batches from, already on the device: a `data.ImageSet` (images and digit labels),
    or anything else with rows and their labels (latents and their captions' token ids)."""

    @property
    def labels(self) -> torch.Tensor: ...
    def __len__(self) -> int: ...
    def floats(self, index: torch.Tensor) -> torch.Tensor: ...


@dataclass(frozen=True)
class Schedule:
    epochs: int
    batch_size: int  # per process
    learning_rate: float
    lr_schedule: Literal["constant", "cosine"] = "cosine"
    warmup_steps: int = 0  # optimizer updates with a linearly rising learning rate
    gradient_accumulation_steps: int = 1

    @classmethod
    def of(cls, config: Any) -> Schedule:
        """The schedule a demo's config describes: its fields of these names (absent ones keep their defaults)."""
        return cls(**{f.name: getattr(config, f.name) for f in dataclasses.fields(cls) if hasattr(config, f.name)})


@dataclass(frozen=True)
class TrainLog:
    losses: list[float]  # every step, averaged over processes
    epoch_losses: list[float]  # mean loss of each epoch, the figure the course prints
    images: int  # training images seen, all processes together
    seconds: float  # the whole loop, compilation included
    images_per_second: float  # after the first steps (compilation, autotuning), all processes

    def summary(self) -> dict[str, object]:
        """Everything but the per-step losses, for metrics.json."""
        data = asdict(self)
        del data["losses"]
        return data


def train(
    model: ModelT,
    loss_fn: LossFn,
    data: Batches,
    schedule: Schedule,
    runtime: Runtime,
    seed: int,
    progress: Progress,
    stage: str,
    after_epoch: EpochHook | None = None,
) -> tuple[ModelT, TrainLog]:
    """Train `model` in place; returns it unwrapped (eval mode) with its loss log. `after_epoch`, if
    given, sees the model (unwrapped, in eval mode) after every epoch: an evaluation during training."""
    from diffusers.optimization import get_scheduler

    # 1. Accelerate: device placement, mixed precision, gradient accumulation, DDP.
    progress(stage, 0, 1, "setting up")
    accelerator = make_accelerator(runtime, schedule.gradient_accumulation_steps)
    device, processes = accelerator.device, accelerator.num_processes
    steps_per_epoch = len(data) // (schedule.batch_size * processes)
    if steps_per_epoch == 0:
        raise UserError(
            f"{len(data)} training images do not fill one batch of {schedule.batch_size}"
            + (f" on each of {processes} processes" if processes > 1 else "")
        )
    total_steps = schedule.epochs * steps_per_epoch
    updates = max(1, total_steps // schedule.gradient_accumulation_steps)

    # 2. Model, optimizer (Adam, as in the course) and learning-rate schedule. Accelerate steps
    # the schedule once per process for every update, hence the factor (as diffusers' examples do).
    if device.type == "cuda":
        model = in_memory_format(model, torch.channels_last)
        torch.backends.cudnn.benchmark = True  # every batch has the same shape: pick the fastest kernels once
    # Fused: one kernel for every parameter's update instead of a dozen small ops per tensor (CPU and CUDA have it).
    optimizer = torch.optim.Adam(
        model.parameters(), lr=schedule.learning_rate, fused=True if device.type in ("cpu", "cuda") else None
    )
    lr_scheduler = get_scheduler(
        "cosine" if schedule.lr_schedule == "cosine" else "constant_with_warmup",
        optimizer,
        num_warmup_steps=schedule.warmup_steps * processes,
        num_training_steps=updates * processes,
    )
    prepared, optimizer, lr_scheduler = accelerator.prepare(model, optimizer, lr_scheduler)
    # Compiling a Module gives an OptimizedModule, itself a Module (torch.compile's signature says a callable).
    forward = cast(torch.nn.Module, torch.compile(prepared)) if runtime.compile else prepared

    # 3. Generators: one shared by all processes to agree on each epoch's order, one per
    # process for the noise and timesteps its loss draws.
    order = torch.Generator(device).manual_seed(seed)
    noise = torch.Generator(device).manual_seed(seed + 1 + accelerator.process_index)
    losses = torch.zeros(total_steps, device=device)
    warm = min(20, total_steps // 5)  # steps left out of the throughput figure
    started = timed_from = time.perf_counter()
    noted = in_hooks = hooks_untimed = 0.0

    # 4. The loop: forward, loss, backward, step; nothing here waits for the GPU.
    prepared.train()
    for epoch in range(schedule.epochs):
        permutation = torch.randperm(len(data), generator=order, device=device)
        shard = permutation[accelerator.process_index :: processes]
        for batch in range(steps_per_epoch):
            step = epoch * steps_per_epoch + batch
            index = shard[batch * schedule.batch_size : (batch + 1) * schedule.batch_size]
            with accelerator.accumulate(prepared):
                loss = loss_fn(forward, data.floats(index), data.labels[index], noise)
                accelerator.backward(loss)
                optimizer.step()
                lr_scheduler.step()
                optimizer.zero_grad(set_to_none=True)
            losses[step] = loss.detach()
            if step + 1 == warm:
                losses[step].item()  # wait for the warm-up steps before starting the clock
                timed_from, hooks_untimed = time.perf_counter(), in_hooks
            note = ""
            if time.perf_counter() - noted > 0.5:
                noted = time.perf_counter()
                latest = losses[step].item()
                if processes == 1:  # several processes stop together, at the end, or DDP would wait forever
                    _check_finite([latest], stage, step)
                note = f"epoch {epoch + 1}/{schedule.epochs}  loss {latest:.4f}"
            progress(stage, step + 1, total_steps, note)
        if after_epoch is not None:  # off the clock: the log times training alone
            hook_started = time.perf_counter()
            prepared.eval()
            after_epoch(epoch + 1, accelerator.unwrap_model(prepared))
            prepared.train()
            in_hooks += time.perf_counter() - hook_started

    # 5. One sync at the end: losses from every process, and the clock.
    if processes > 1:
        losses = accelerator.reduce(losses, "mean")
    per_step = losses.tolist()
    _check_finite(per_step, stage)
    ended = time.perf_counter()
    images = total_steps * schedule.batch_size * processes
    timed_images = (total_steps - warm) * schedule.batch_size * processes
    progress(stage, total_steps, total_steps, f"epoch {schedule.epochs}/{schedule.epochs}  loss {per_step[-1]:.4f}")
    log = TrainLog(
        losses=per_step,
        epoch_losses=[
            sum(per_step[e * steps_per_epoch : (e + 1) * steps_per_epoch]) / steps_per_epoch
            for e in range(schedule.epochs)
        ],
        images=images,
        seconds=ended - started - in_hooks,
        images_per_second=timed_images / max(ended - timed_from - (in_hooks - hooks_untimed), 1e-9),
    )
    # Without Accelerate's autocast wrapper: callers choose their precision (sampling, evaluation).
    model = accelerator.unwrap_model(prepared, keep_fp32_wrapper=False).eval()
    # safetensors stores contiguous tensors only; channels_last weights are not.
    return in_memory_format(model, torch.contiguous_format), log


def in_memory_format(model: ModelT, memory_format: torch.memory_format) -> ModelT:
    """`model` with its weights in `memory_format`, converted in place (Module.to returns the module itself)."""
    # torch's overloads of Module.to leave out the memory_format keyword it takes at run time
    model.to(memory_format=memory_format)  # type: ignore[call-overload]
    return model


def on_device(model: ModelT, device: torch.device | str) -> ModelT:
    """`model` moved to `device` in place (Module.to returns the module itself). Called through this signature:
    diffusers wraps ModelMixin.to in functools.wraps, which mypy reads as an unbound call."""
    model.to(device)
    return model


def _check_finite(losses: list[float], stage: str, first_step: int = 0) -> None:
    """A loss that is NaN or infinite will not come back: stop with the reason instead of writing NaN figures."""
    for step, value in enumerate(losses, first_step):
        if not math.isfinite(value):
            raise UserError(
                f"{stage}: the loss became {value} at step {step + 1} (training diverged); "
                "try a smaller --learning-rate"
            )


def final_loss(log: TrainLog) -> float:
    """The mean loss over the last tenth of training: less noisy than the last step."""
    tail = log.losses[-max(1, len(log.losses) // 10) :]
    return sum(tail) / len(tail)
