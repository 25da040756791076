"""Exercise img2img-strength: which timesteps img2img runs, from `strength`."""

import torch


def img2img_timesteps(timesteps: torch.Tensor, strength: float) -> torch.Tensor:
    """The part of a sampling schedule that img2img actually runs.

    Args:
        timesteps: the scheduler's timesteps after set_timesteps(num_inference_steps), noisiest
            first, e.g. tensor([980, 960, ..., 0]); num_inference_steps = len(timesteps).
        strength: in [0, 1], how much of the image to redo: 1 starts from pure noise (every step),
            0 changes nothing (no step).

    As StableDiffusionImg2ImgPipeline.get_timesteps does it:

        init_timestep = min(int(num_inference_steps · strength), num_inference_steps)
        t_start       = max(num_inference_steps - init_timestep, 0)
        run timesteps[t_start:]   (the input image is noised to timesteps[t_start] first)

    Returns:
        The timesteps to run, a slice of `timesteps` (possibly empty).
    """
    raise NotImplementedError("how many steps to redo, then skip the noisiest ones")
