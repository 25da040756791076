"""Exercise ddim-inversion: one step of DDIM inversion, as DDIMInverseScheduler.step takes it."""

import torch


def ddim_inversion_step(
    model_output: torch.Tensor, timestep: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor, next_timestep: int
) -> torch.Tensor:
    """From x_t to the NOISIER x_next: a DDIM step run backwards (unit 4, DDIM inversion).

    Args:
        model_output: the predicted noise ε_θ(x_t, t), shape (B, C, H, W).
        timestep: t, the less noisy level. The first inversion step starts from the clean image,
            where timestep is negative (-1000 // num_inference_steps) and ᾱ_t = 1.
        sample: x_t, shape (B, C, H, W).
        alphas_cumprod: ᾱ for every training timestep, shape (T,).
        next_timestep: the noisier level this step goes to, t + 1000 // num_inference_steps.

        x̂0      = (x_t - √(1-ᾱ_t)·ε_θ) / √ᾱ_t
        x_next  = √ᾱ_next · x̂0 + √(1-ᾱ_next) · ε_θ

    Returns:
        x_next, shape (B, C, H, W).
    """
    raise NotImplementedError("the DDIM update with the roles of the two timesteps reversed")
