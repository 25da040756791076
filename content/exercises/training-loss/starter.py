"""Exercise training-loss: one batch of the course's training loop, up to the loss."""

import torch
import torch.nn.functional as F  # noqa: F401  (F.mse_loss)


def training_loss(model, clean_images: torch.Tensor, noise_scheduler, generator: torch.Generator) -> torch.Tensor:
    """The noise-prediction loss for one batch (DDPM's "simple" loss):

        L = mean over pixels of (ε_θ(x_t, t) - ε)²,   x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε

    Args:
        model: called as model(noisy_images, timesteps) -> predicted noise, shape (B, C, H, W)
            (the course's UNet2DModel returns `.sample`; this stand-in returns the tensor).
        clean_images: x0, shape (B, C, H, W), in [-1, 1].
        noise_scheduler: a diffusers DDPMScheduler (use its add_noise and
            config.num_train_timesteps).
        generator: draw ALL randomness from it, in this order:
            1. the noise ε: torch.randn(clean_images.shape, generator=generator)
            2. one timestep per image: torch.randint(0, num_train_timesteps, (B,), generator=generator)

    Returns:
        The loss, a scalar tensor (F.mse_loss).
    """
    raise NotImplementedError("noise, timesteps, add_noise, predict, compare with the noise")
