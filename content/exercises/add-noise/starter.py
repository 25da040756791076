"""Exercise add-noise: the forward process in one step, as DDPMScheduler.add_noise does it."""

import torch


def add_noise(
    x0: torch.Tensor, noise: torch.Tensor, timesteps: torch.Tensor, alphas_cumprod: torch.Tensor
) -> torch.Tensor:
    """Noise clean images straight to timestep t (no loop over steps needed):

        x_t = √ᾱ_t · x0 + √(1 - ᾱ_t) · ε

    Args:
        x0: clean images, shape (B, C, H, W).
        noise: ε ~ N(0, I), shape (B, C, H, W).
        timesteps: one integer timestep per image, shape (B,), values in 0 .. T-1.
        alphas_cumprod: ᾱ_t for every t, shape (T,) (the scheduler's `alphas_cumprod`).

    Returns:
        x_t, shape (B, C, H, W), the dtype of x0.

    ᾱ for image b is alphas_cumprod[timesteps[b]]; reshape it to (B, 1, 1, 1) to broadcast.
    """
    raise NotImplementedError("look up ᾱ for each image's timestep, then mix x0 and noise")
