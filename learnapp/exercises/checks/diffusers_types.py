"""Typed handles on the diffusers classes the checks build: one constructor helper per class.

mypy cannot type diffusers' schedulers and models: `from diffusers import X` resolves to its dummy
placeholder classes, and each real `__init__` goes through the untyped `register_to_config`. So each class
is imported from the module that defines it, built once here, and cast to a Protocol naming exactly what
the checks (and the learner's reference arguments) use of it.
"""

from __future__ import annotations

from typing import Protocol, cast

import torch
from diffusers.schedulers.scheduling_ddim import DDIMScheduler
from diffusers.schedulers.scheduling_ddim_inverse import DDIMInverseScheduler
from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

# A constructor's config value (to mypy an `int` is a `float`).
Option = float | str | bool | tuple[str, ...] | tuple[int, ...]


class SchedulerConfig(Protocol):
    @property
    def num_train_timesteps(self) -> int: ...


class StepOutput(Protocol):
    @property
    def prev_sample(self) -> torch.Tensor: ...


class Scheduler(Protocol):
    """What the checks use of every scheduler."""

    alphas_cumprod: torch.Tensor
    timesteps: torch.Tensor
    num_inference_steps: int  # set by set_timesteps, which the checks call before reading it

    @property
    def config(self) -> SchedulerConfig: ...

    def set_timesteps(self, num_inference_steps: int) -> None: ...


class DDPM(Scheduler, Protocol):
    def step(
        self, model_output: torch.Tensor, timestep: int, sample: torch.Tensor, *, generator: torch.Generator
    ) -> StepOutput: ...

    def add_noise(
        self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor: ...

    def previous_timestep(self, timestep: int) -> int | torch.Tensor: ...


class DDIM(Scheduler, Protocol):
    def step(self, model_output: torch.Tensor, timestep: int, sample: torch.Tensor, *, eta: float) -> StepOutput: ...


class DDIMInverse(Scheduler, Protocol):
    def step(self, model_output: torch.Tensor, timestep: int, sample: torch.Tensor) -> StepOutput: ...


class VAEConfig(Protocol):
    @property
    def scaling_factor(self) -> float: ...


class LatentDistribution(Protocol):
    @property
    def mean(self) -> torch.Tensor: ...

    def sample(self) -> torch.Tensor: ...


class EncoderOutput(Protocol):
    @property
    def latent_dist(self) -> LatentDistribution: ...


class DecoderOutput(Protocol):
    @property
    def sample(self) -> torch.Tensor: ...


class VAE(Protocol):
    """What the checks use of AutoencoderKL."""

    @property
    def config(self) -> VAEConfig: ...

    def encode(self, x: torch.Tensor) -> EncoderOutput: ...

    def decode(self, z: torch.Tensor) -> DecoderOutput: ...


def ddpm_scheduler(**config: Option) -> DDPM:
    return cast(DDPM, DDPMScheduler(**config))


def ddim_scheduler(**config: Option) -> DDIM:
    return cast(DDIM, DDIMScheduler(**config))


def ddim_inverse_scheduler(**config: Option) -> DDIMInverse:
    return cast(DDIMInverse, DDIMInverseScheduler(**config))


def frozen_autoencoder_kl(**config: Option) -> VAE:
    """An AutoencoderKL in eval mode with gradients off (the checks only run it forward)."""
    # Imported here: diffusers' models are far slower to import than its schedulers, which the other checks use.
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL

    return cast(VAE, AutoencoderKL(**config).eval().requires_grad_(False))
