"""How a clean image is noised: the course's uniform `corrupt`, and DDPM's noise-prediction objective.

`corrupt(x, amount, noise)` mixes an image in [0, 1] with uniform noise (the course's first
model learns to undo it). `noise_loss(scheduler)` is DDPM's training objective: `add_noise`
mixes Gaussian noise into x0 (scaled to [-1, 1]) at a random timestep, and the model is scored
on predicting that noise.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Protocol

import torch
import torch.nn.functional as F

from .diffusers_types import typed_scheduler

if TYPE_CHECKING:
    from diffusers.schedulers.scheduling_utils import SchedulerMixin


def corrupt(x: torch.Tensor, amount: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """The course's corruption: mix `x` (in [0, 1]) with uniform noise by `amount` (one per image)."""
    amount = amount.view(-1, 1, 1, 1)  # broadcast over channels and pixels
    return x * (1 - amount) + noise * amount


class Prediction(Protocol):
    @property
    def sample(self) -> torch.Tensor: ...


class Denoiser(Protocol):
    """Called as diffusers' UNets are, `model(x_t, t).sample` the predicted noise: a UNet, or one whose
    class labels are bound (`functools.partial(unet, class_labels=labels)`)."""

    def __call__(self, sample: torch.Tensor, timestep: torch.Tensor, /) -> Prediction: ...


# A `training.LossFn` that also takes a Denoiser that is not a Module (a Module is a Denoiser).
NoiseLoss = Callable[[Denoiser, torch.Tensor, torch.Tensor, torch.Generator], torch.Tensor]


def noise_loss(scheduler: SchedulerMixin) -> NoiseLoss:
    """DDPM's objective: predict the noise that `add_noise` mixed into x0 (scaled to [-1, 1]) at a random t."""
    ddpm = typed_scheduler(scheduler)

    def loss(model: Denoiser, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x0 = images * 2 - 1
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        t = torch.randint(0, ddpm.config.num_train_timesteps, (len(x0),), generator=generator, device=x0.device)
        return F.mse_loss(model(ddpm.add_noise(x0, noise, t), t).sample, noise)

    return loss
