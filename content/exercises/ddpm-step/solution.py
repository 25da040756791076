"""Exercise ddpm-step: the reference solution (DDPMScheduler.step, epsilon prediction, fixed_small variance)."""

import torch


def ddpm_step(
    model_output: torch.Tensor,
    timestep: int,
    sample: torch.Tensor,
    alphas_cumprod: torch.Tensor,
    prev_timestep: int,
    generator: torch.Generator,
) -> torch.Tensor:
    """x_prev = posterior mean from the predicted x0, plus √β̃_t · z when t > 0."""
    alpha_bar_t = alphas_cumprod[timestep]
    alpha_bar_prev = alphas_cumprod[prev_timestep] if prev_timestep >= 0 else torch.tensor(1.0)
    alpha_t = alpha_bar_t / alpha_bar_prev
    beta_t = 1 - alpha_t

    x0 = (sample - (1 - alpha_bar_t).sqrt() * model_output) / alpha_bar_t.sqrt()
    mean = (alpha_bar_prev.sqrt() * beta_t / (1 - alpha_bar_t)) * x0 + (
        alpha_t.sqrt() * (1 - alpha_bar_prev) / (1 - alpha_bar_t)
    ) * sample
    if timestep > 0:
        z = torch.randn(model_output.shape, generator=generator, dtype=model_output.dtype)
        variance = torch.clamp((1 - alpha_bar_prev) / (1 - alpha_bar_t) * beta_t, min=1e-20)
        mean = mean + variance.sqrt() * z
    return mean
