"""Exercise training-loss: the reference solution (the course's training loop, one batch)."""

import torch
import torch.nn.functional as F


def training_loss(model, clean_images: torch.Tensor, noise_scheduler, generator: torch.Generator) -> torch.Tensor:
    """Sample ε and t, noise the batch to x_t, and score the model's guess of ε."""
    noise = torch.randn(clean_images.shape, generator=generator)
    timesteps = torch.randint(
        0, noise_scheduler.config.num_train_timesteps, (clean_images.shape[0],), generator=generator
    )
    noisy_images = noise_scheduler.add_noise(clean_images, noise, timesteps)
    noise_pred = model(noisy_images, timesteps)
    return F.mse_loss(noise_pred, noise)
