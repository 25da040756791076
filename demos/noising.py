"""How a clean image is noised: the course's uniform `corrupt`, and DDPM's noise-prediction objective.

`corrupt(x, amount, noise)` mixes an image in [0, 1] with uniform noise (the course's first
model learns to undo it). `noise_loss(scheduler)` is DDPM's training objective: `add_noise`
mixes Gaussian noise into x0 (scaled to [-1, 1]) at a random timestep, and the model is scored
on predicting that noise; `noise_loss(scheduler, snr_gamma)` weights it by timestep (Min-SNR).
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


def noise_loss(scheduler: SchedulerMixin, snr_gamma: float = 0.0) -> NoiseLoss:
    """DDPM's objective: predict the noise that `add_noise` mixed into x0 (scaled to [-1, 1]) at a random t.

    With `snr_gamma` > 0, each image's squared error is weighted by min(SNR_t, gamma) / SNR_t, where
    SNR_t = alpha_bar_t / (1 - alpha_bar_t): Min-SNR weighting (Hang et al., 2023), the `--snr_gamma`
    of diffusers' training examples. The nearly clean timesteps, where the noise is easy to pick out
    but which pull the weights their own way, count less; a short training converges faster."""
    ddpm = typed_scheduler(scheduler)

    def loss(model: Denoiser, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x0 = images * 2 - 1
        noise = torch.randn(x0.shape, generator=generator, device=x0.device)
        t = torch.randint(0, ddpm.config.num_train_timesteps, (len(x0),), generator=generator, device=x0.device)
        predicted = model(ddpm.add_noise(x0, noise, t), t).sample
        if not snr_gamma:
            return F.mse_loss(predicted, noise)
        from diffusers.training_utils import compute_snr

        snr = compute_snr(ddpm, t)
        weights = snr.clamp(max=snr_gamma) / snr
        return (F.mse_loss(predicted, noise, reduction="none").mean(dim=(1, 2, 3)) * weights).mean()

    return loss
