"""Sampling from Gaussian noise with any diffusers scheduler, and the snapshots a GIF is made of.

`denoise` is the loop every diffusers pipeline runs: predict eps with the UNet, let
`scheduler.step` take x_t to the next, less noisy x. Which sampler that is depends on the
scheduler passed: ancestral DDPM with a `DDPMScheduler` (unet-training), deterministic or
stochastic DDIM with a `DDIMScheduler` (audio-spectrograms).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from .base import Progress, no_progress
from .data import to_pixels
from .device import Runtime

if TYPE_CHECKING:
    from diffusers import SchedulerMixin


@dataclass
class Trajectory:
    """Snapshots of a batch on its way from noise to samples, each with a caption, for a GIF."""

    frames: list[torch.Tensor] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)

    def add(self, images: torch.Tensor, label: str) -> None:
        self.frames.append(images.detach().cpu())
        self.labels.append(label)


@torch.no_grad()
def denoise(
    unet: nn.Module,
    scheduler: SchedulerMixin,
    count: int,
    steps: int,
    generator: torch.Generator,
    runtime: Runtime,
    progress: Progress = no_progress,
    frames: int = 40,
) -> tuple[torch.Tensor, Trajectory]:
    """`count` samples from Gaussian noise in `steps` steps: predict eps, step x_t -> x_{t-1} with
    `scheduler.step`. Returns images in [0, 1] and snapshots of x_t (as pixels, x/2 + 0.5) along the way."""
    size = unet.config.sample_size
    x = torch.randn(count, 1, size, size, generator=generator, device=runtime.device)
    scheduler.set_timesteps(steps)
    timesteps = scheduler.timesteps.tolist()
    trajectory = Trajectory()
    trajectory.add(to_pixels(x), f"UNet2DModel: x_T, T = {scheduler.config.num_train_timesteps}")
    keep = frames_to_keep(steps, frames)
    for i, t in enumerate(timesteps):
        with runtime.autocast():
            eps = unet(x, t).sample.float()
        x = scheduler.step(eps, t, x, generator=generator).prev_sample
        if i in keep:
            reached = timesteps[i + 1] if i + 1 < steps else 0
            trajectory.add(to_pixels(x), f"UNet2DModel: x_t, t = {reached}")
        progress("sample UNet2DModel", i + 1, steps)
    return to_pixels(x), trajectory


def frames_to_keep(steps: int, frames: int) -> set[int]:
    """The indices of about `frames` steps, evenly spread over `steps`, the last included."""
    return {round(k * (steps - 1) / max(1, frames - 1)) for k in range(frames)}
