"""Exercise ddpm-step: one step of DDPM sampling, as DDPMScheduler.step takes it."""

import torch


def ddpm_step(
    model_output: torch.Tensor,
    timestep: int,
    sample: torch.Tensor,
    alphas_cumprod: torch.Tensor,
    prev_timestep: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """From x_t to x_prev: predict x0, take the posterior's mean, add its noise.

    Args:
        model_output: the predicted noise ε_θ(x_t, t), shape (B, C, H, W).
        timestep: t, an int.
        sample: x_t, shape (B, C, H, W).
        alphas_cumprod: ᾱ for every training timestep, shape (T,).
        prev_timestep: the timestep this step goes to (t - 1 with 1000 steps, t - 1000 // steps with
            fewer; -1 after the last step, where ᾱ_prev = 1).
        generator: draw the step's noise from it: torch.randn(model_output.shape, generator=generator,
            dtype=model_output.dtype).

    With ᾱ_t, ᾱ_prev, α_t = ᾱ_t / ᾱ_prev (this jump's α) and β_t = 1 - α_t:

        x̂0      = (x_t - √(1-ᾱ_t)·ε_θ) / √ᾱ_t                          (no clipping here)
        μ       = √ᾱ_prev·β_t / (1-ᾱ_t) · x̂0  +  √α_t·(1-ᾱ_prev) / (1-ᾱ_t) · x_t
        β̃_t     = (1-ᾱ_prev) / (1-ᾱ_t) · β_t                            (clamped to >= 1e-20)
        x_prev  = μ + √β̃_t · z,   z ~ N(0, I)   — only if t > 0; at t = 0 return μ

    Returns:
        x_prev, shape (B, C, H, W).
    """
    raise NotImplementedError("x̂0, then the posterior mean, then noise with σ = √β̃_t")
