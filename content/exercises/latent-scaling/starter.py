"""Exercise latent-scaling: Stable Diffusion's latents, in and out of the VAE (unit 3)."""

import torch


def latent_round_trip(vae, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Encode images to the latents the UNet works on, and decode those latents back to images.

    Args:
        vae: a diffusers AutoencoderKL (vae.encode(x).latent_dist, vae.decode(z).sample,
            vae.config.scaling_factor: 0.18215 for Stable Diffusion 1.x).
        images: shape (B, 3, H, W), in [-1, 1].

        latents = vae.encode(images).latent_dist.mean × scaling_factor
        decoded = vae.decode(latents / scaling_factor).sample

    The encoder's latents have a standard deviation near 1 / scaling_factor; the factor brings them
    to unit variance, the scale the UNet's noise schedule assumes. Run under torch.no_grad().

    Returns:
        (latents, decoded): shapes (B, 4, H/f, W/f) and (B, 3, H, W).
    """
    raise NotImplementedError("encode and scale; unscale and decode")
