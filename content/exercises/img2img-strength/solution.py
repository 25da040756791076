"""Exercise img2img-strength: the reference solution (StableDiffusionImg2ImgPipeline.get_timesteps)."""

import torch


def img2img_timesteps(timesteps: torch.Tensor, strength: float) -> torch.Tensor:
    """Skip the first num_inference_steps - int(num_inference_steps · strength) timesteps."""
    num_inference_steps = len(timesteps)
    init_timestep = min(int(num_inference_steps * strength), num_inference_steps)
    t_start = max(num_inference_steps - init_timestep, 0)
    return timesteps[t_start:]
