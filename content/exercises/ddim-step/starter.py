"""Exercise ddim-step: one deterministic DDIM step (eta = 0), as DDIMScheduler.step takes it."""

import torch


def ddim_step(
    model_output: torch.Tensor, timestep: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor, prev_timestep: int
) -> torch.Tensor:
    """From x_t to x_prev without noise (Song et al. 2020, eq. 12 with σ = 0).

    Args:
        model_output: the predicted noise ε_θ(x_t, t), shape (B, C, H, W).
        timestep: t.
        sample: x_t, shape (B, C, H, W).
        alphas_cumprod: ᾱ for every training timestep, shape (T,).
        prev_timestep: where this step goes, t - 1000 // num_inference_steps; negative after the
            last step, where ᾱ_prev = 1.

        x̂0      = (x_t - √(1-ᾱ_t)·ε_θ) / √ᾱ_t                  "predicted x0"
        x_prev  = √ᾱ_prev · x̂0 + √(1-ᾱ_prev) · ε_θ             "re-noise to the lower level"

    Returns:
        x_prev, shape (B, C, H, W).
    """
    raise NotImplementedError("predict x0, then re-noise it to ᾱ_prev with the same ε")
