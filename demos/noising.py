"""How a clean image is noised: the course's uniform `corrupt`, and DDPM's noise-prediction objective.

`corrupt(x, amount, noise)` mixes an image in [0, 1] with uniform noise (the course's first
model learns to undo it). `noise_loss(scheduler)` is DDPM's training objective: `add_noise`
mixes Gaussian noise into x0 (scaled to [-1, 1]) at a random timestep, and the model is scored
on predicting that noise.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch
import torch.nn.functional as F
from torch import nn

from .diffusers_types import typed_scheduler

if TYPE_CHECKING:
    from diffusers.schedulers.scheduling_utils import SchedulerMixin

    from .training import LossFn


def corrupt(x: torch.Tensor, amount: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The course's corruption: mix `x` (in [0, 1]) with uniform noise by `amount` (one per image)."""
    amount = amount.view(-1, 1, 1, 1)  # broadcast over channels and pixels
    return x * (1 - amount) + noise * amount


def noise_loss(scheduler: SchedulerMixin) -> LossFn:
    """DDPM's objective: predict the noise that `add_noise` mixed into x0 (scaled to [-1, 1]) at a random t."""
    ddpm = typed_scheduler(scheduler)

    def loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x0 = images * 2 - 1
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        t = torch.randint(0, ddpm.config.num_train_timesteps, (len(x0),), generator=generator, device=x0.device)
        return F.mse_loss(model(ddpm.add_noise(x0, noise, t), t).sample, noise)

    return loss
