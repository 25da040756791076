"""Exercise add-noise: the reference solution (DDPMScheduler.add_noise)."""

import torch


def add_noise(
    x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor, alphas_cumprod: torch.Tensor
) -> torch.Tensor:
    """x_t = √ᾱ_t · x0 + √(1 - ᾱ_t) · ε, with ᾱ_t looked up per image."""
    alpha_bar = alphas_cumprod.to(x0.dtype)[timesteps].view(-1, *([1] * (x0.dim() - 1)))
    return alpha_bar.sqrt() * x0 + (1 - alpha_bar).sqrt() * noise
