"""Exercise latent-scaling: the reference solution (the course's unit 3 notebook)."""

import torch


def latent_round_trip(vae, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale on the way in, unscale on the way out."""
    with torch.no_grad():
        latents = vae.encode(images).latent_dist.mean * vae.config.scaling_factor
        decoded = vae.decode(latents / vae.config.scaling_factor).sample
    return latents, decoded
