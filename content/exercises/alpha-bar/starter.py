"""Exercise alpha-bar: from a beta schedule to ᾱ (alphas_cumprod), as DDPMScheduler computes it."""

import math  # noqa: F401  (math.cos and math.pi for the cosine schedule)

import torch


def alpha_bar(
    num_train_timesteps: int, beta_schedule: str, beta_start: float = 0.0001, beta_end: float = 0.02
) -> torch.Tensor:
    """ᾱ_t for t = 0 .. T-1 (T = num_train_timesteps), float32, shape (T,).

    The schedule gives the betas β_t, the variance of the noise added at step t:

    - "linear": T values evenly spaced from beta_start to beta_end
      (torch.linspace(beta_start, beta_end, T, dtype=torch.float32));
    - "squaredcos_cap_v2" (the cosine schedule, Nichol & Dhariwal 2021): with
          f(s) = cos((s + 0.008) / 1.008 · π/2)²
      β_i = min(1 - f((i + 1) / T) / f(i / T), 0.999) for i = 0 .. T-1 (beta_start/beta_end unused).

    Then α_t = 1 - β_t and ᾱ_t = α_0 · α_1 · ... · α_t (the running product): the fraction of the
    signal's variance left at timestep t, so x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε.

    Returns:
        ᾱ, shape (T,), dtype torch.float32 (compute the cosine betas in Python floats, then
        make a float32 tensor, as diffusers does).
    """
    raise NotImplementedError("betas for the schedule, then the running product of 1 - betas")
