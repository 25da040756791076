"""Exercise cfg: the reference solution (diffusers' StableDiffusionPipeline.__call__)."""

import torch


def classifier_free_guidance(noise_pred: torch.Tensor, guidance_scale: float) -> torch.Tensor:
    """ε̂ = ε_uncond + s · (ε_text - ε_uncond)."""
    noise_pred_uncond, noise_pred_text = noise_pred.chunk(2)
    return noise_pred_uncond + guidance_scale * (noise_pred_text - noise_pred_uncond)
