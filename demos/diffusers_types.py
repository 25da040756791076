"""A typed handle on diffusers' schedulers: what the demos use of them, as a Protocol.

mypy cannot type a diffusers scheduler: each `__init__` goes through the untyped `register_to_config`,
`config` is a plain dict to it (a FrozenDict with attribute access at run time), and `step` returns an
output or a tuple. So a scheduler is cast once, here, to the Protocol naming exactly what the demos use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, cast

import torch

if TYPE_CHECKING:
    from diffusers.schedulers.scheduling_utils import SchedulerMixin


class SchedulerConfig(Protocol):
    @property
    def num_train_timesteps(self) -> int: ...


class StepOutput(Protocol):
    @property
    def prev_sample(self) -> torch.Tensor: ...

    @property
    def pred_original_sample(self) -> torch.Tensor: ...


class Scheduler(Protocol):
    """What the demos use of every scheduler (DDPM, DDIM, ...)."""

    alphas_cumprod: torch.Tensor
    timesteps: torch.Tensor  # set by set_timesteps

    @property
    def config(self) -> SchedulerConfig: ...

    def set_timesteps(self, num_inference_steps: int) -> None: ...

    def step(
        self,
        model_output: torch.Tensor,
        timestep: int,
        sample: torch.Tensor,
        *,
        generator: torch.Generator | None = None,
        **options: float,
    ) -> StepOutput: ...

    def add_noise(
        self, original_samples: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor
    ) -> torch.Tensor: ...


def typed_scheduler(scheduler: SchedulerMixin) -> Scheduler:
    """`scheduler` as the Protocol (the same object)."""
    return cast(Scheduler, scheduler)
