"""Exercise cfg: classifier-free guidance, the line every Stable Diffusion pipeline runs each step."""

import torch


def classifier_free_guidance(noise_pred: torch.Tensor, guidance_scale: float) -> torch.Tensor:
    """Combine the unconditional and the text-conditioned noise predictions.

    The pipeline runs the UNet once on a doubled batch, torch.cat([uncond_latents, text_latents]),
    so noise_pred holds both predictions along the batch:

    Args:
        noise_pred: shape (2B, C, H, W): the first B are ε_uncond, the last B are ε_text.
        guidance_scale: s (7.5 in Stable Diffusion; 1 means no guidance).

        ε̂ = ε_uncond + s · (ε_text - ε_uncond)

    Returns:
        ε̂, shape (B, C, H, W).
    """
    raise NotImplementedError("split the batch in two, then push from ε_uncond towards ε_text")
