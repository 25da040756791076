"""Exercise ddim-inversion: the reference solution (DDIMInverseScheduler.step)."""

import torch


def ddim_inversion_step(
    model_output: torch.Tensor, timestep: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor, next_timestep: int
) -> torch.Tensor:
    """x_next = √ᾱ_next · x̂0 + √(1-ᾱ_next) · ε_θ, with x̂0 predicted at the less noisy timestep."""
    alpha_bar_t = alphas_cumprod[timestep] if timestep >= 0 else torch.tensor(1.0)
    alpha_bar_next = alphas_cumprod[next_timestep]
    x0 = (sample - (1 - alpha_bar_t).sqrt() * model_output) / alpha_bar_t.sqrt()
    return alpha_bar_next.sqrt() * x0 + (1 - alpha_bar_next).sqrt() * model_output
