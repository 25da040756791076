"""Exercise alpha-bar: the reference solution (diffusers' DDPMScheduler.__init__ and betas_for_alpha_bar)."""

import math

import torch


def alpha_bar(
    num_train_timesteps: int, beta_schedule: str, beta_start: float = 0.0001, beta_end: float = 0.02
) -> torch.Tensor:
    """ᾱ_t = ∏_{s<=t} (1 - β_s) for the linear or the cosine (squaredcos_cap_v2) schedule."""
    if beta_schedule == "linear":
        betas = torch.linspace(beta_start, beta_end, num_train_timesteps, dtype=torch.float32)
    elif beta_schedule == "squaredcos_cap_v2":

        def f(s: float) -> float:
            return math.cos((s + 0.008) / 1.008 * math.pi / 2) ** 2

        steps = num_train_timesteps
        betas = torch.tensor(
            [min(1 - f((i + 1) / steps) / f(i / steps), 0.999) for i in range(steps)], dtype=torch.float32
        )
    else:
        raise ValueError(f"unknown beta_schedule {beta_schedule!r}")
    return torch.cumprod(1.0 - betas, dim=0)
