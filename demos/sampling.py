"""Sampling from Gaussian noise with any diffusers scheduler, and the snapshots a GIF is made of.

`denoise` is the loop every diffusers pipeline runs: predict eps with the UNet, let
`scheduler.step` take x_t to the next, less noisy x. Which sampler that is depends on the
scheduler passed: ancestral DDPM with a `DDPMScheduler`, deterministic or stochastic DDIM with
a `DDIMScheduler` (`step_options={"eta": 1.0}`). Each snapshot keeps x_t and, beside it, the
clean image the model predicts at that step (the scheduler's `pred_original_sample`,
x0 = (x_t - sqrt(1 - alpha_bar_t) eps) / sqrt(alpha_bar_t)).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import torch

from .base import Progress, no_progress
from .data import to_pixels
from .device import Runtime
from .diffusers_types import typed_scheduler

if TYPE_CHECKING:
    from diffusers.models.unets.unet_2d import UNet2DModel
    from diffusers.schedulers.scheduling_utils import SchedulerMixin


@dataclass
class Trajectory:
    """Snapshots of a batch on its way from noise to samples, each with a caption, for a GIF; with each,
    the model's prediction of the clean image at that step (None where there is none yet)."""

    frames: list[torch.Tensor] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    predicted: list[torch.Tensor | None] = field(default_factory=list)

    def add(self, images: torch.Tensor, label: str, predicted: torch.Tensor | None = None) -> None:
        self.frames.append(images.detach().cpu())
        self.labels.append(label)
        self.predicted.append(None if predicted is None else predicted.detach().cpu())


@torch.no_grad()
def denoise(
    unet: UNet2DModel,
    scheduler: SchedulerMixin,
    count: int,
    steps: int,
    generator: torch.Generator,
    runtime: Runtime,
    progress: Progress = no_progress,
    frames: int = 40,
    step_options: dict[str, Any] | None = None,
) -> tuple[torch.Tensor, Trajectory]:
    """`count` samples from Gaussian noise in `steps` steps: predict eps, step x_t -> x_{t-1} with
    `scheduler.step` (given `step_options`, e.g. DDIM's eta). Returns images in [0, 1] and snapshots of
    x_t and of the predicted x0 (as pixels, x/2 + 0.5) along the way."""
    size: int = unet.config["sample_size"]
    sampler = typed_scheduler(scheduler)
    x = torch.randn(count, 1, size, size, generator=generator, device=runtime.device)
    sampler.set_timesteps(steps)
    timesteps = sampler.timesteps.tolist()
    trajectory = Trajectory()
    trajectory.add(to_pixels(x), f"UNet2DModel: x_T, T = {sampler.config.num_train_timesteps}")
    keep = frames_to_keep(steps, frames)
    for i, t in enumerate(timesteps):
        with runtime.autocast():
            eps = unet(x, t).sample.float()
        out = sampler.step(eps, t, x, generator=generator, **(step_options or {}))
        x = out.prev_sample
        if i in keep:
            reached = timesteps[i + 1] if i + 1 < steps else 0
            trajectory.add(to_pixels(x), f"UNet2DModel: x_t, t = {reached}", to_pixels(out.pred_original_sample))
        progress("sample UNet2DModel", i + 1, steps)
    return to_pixels(x), trajectory


def frames_to_keep(steps: int, frames: int) -> set[int]:
    """The indices of about `frames` steps, evenly spread over `steps`, the last included."""
    return {round(k * (steps - 1) / max(1, frames - 1)) for k in range(frames)}
