"""Exercise ddim-step: the reference solution (DDIMScheduler.step with eta = 0)."""

import torch


def ddim_step(
    model_output: torch.Tensor, timestep: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor, prev_timestep: int
) -> torch.Tensor:
    """x_prev = √ᾱ_prev · x̂0 + √(1-ᾱ_prev) · ε_θ."""
    alpha_bar_t = alphas_cumprod[timestep]
    alpha_bar_prev = alphas_cumprod[prev_timestep] if prev_timestep >= 0 else torch.tensor(1.0)
    x0 = (sample - (1 - alpha_bar_t).sqrt() * model_output) / alpha_bar_t.sqrt()
    return alpha_bar_prev.sqrt() * x0 + (1 - alpha_bar_prev).sqrt() * model_output
