"""Classifier-free guidance with DDIM: the guided noise prediction, sampling, and inversion.

A class-conditioned UNet trained with label dropout predicts the noise both with a label,
eps(x_t, t, y), and with the null class, eps(x_t, t, ∅). Classifier-free guidance mixes them:

    eps = eps_uncond + s * (eps_cond - eps_uncond)

s = 0 ignores the label, s = 1 is the conditional model as trained, s > 1 pushes further along
the direction the label adds. DDIM (eta = 0) turns that prediction into a deterministic step
x_t -> x_{t-1}; run the other way (`DDIMInverseScheduler`), the same steps map a real image
x_0 to the noise x_T that DDIM would turn back into it: without clipping the predicted x_0,
the forward scheduler retraces the inverse one's path.
"""

from __future__ import annotations

import inspect
from typing import TYPE_CHECKING, Any, Literal

import torch

from .base import Progress, no_progress
from .diffusers_types import Scheduler, typed_scheduler

if TYPE_CHECKING:
    from diffusers.configuration_utils import ConfigMixin


def guide(eps_uncond: torch.Tensor, eps_cond: torch.Tensor, scale: float) -> torch.Tensor:
    """Classifier-free guidance: `eps_uncond + scale * (eps_cond - eps_uncond)`."""
    return eps_uncond + scale * (eps_cond - eps_uncond)


def null_class(unet: Any) -> int:
    """The label that means "no class": the last of the UNet's class embeddings."""
    return unet.config.num_class_embeds - 1


def predict_noise(unet: Any, x: torch.Tensor, t: torch.Tensor, labels: torch.Tensor, scale: float) -> torch.Tensor:
    """The guided noise prediction for `x` at timestep `t` (float32). Conditional and unconditional
    predictions come from one forward pass over a doubled batch; scales 0 and 1 need only one of them
    (1 is the plain conditional prediction: the only one a model without a null class has)."""
    if scale == 1:
        return unet(x, t, class_labels=labels).sample.float()
    null = torch.full_like(labels, null_class(unet))
    if scale == 0:
        return unet(x, t, class_labels=null).sample.float()
    eps_cond, eps_uncond = unet(torch.cat([x, x]), t, class_labels=torch.cat([labels, null])).sample.float().chunk(2)
    return guide(eps_uncond, eps_cond, scale)


def starting_noise(count: int, size: int, device: torch.device | str, seed: int) -> torch.Tensor:
    """x_T for `count` one-channel images of `size`, the same for every sampler or scale given `seed`."""
    generator = torch.Generator(device).manual_seed(seed)
    return torch.randn(count, 1, size, size, device=device, generator=generator)


def ddim_scheduler(training_scheduler: ConfigMixin, steps: int, clip: bool = True) -> Scheduler:
    """A `DDIMScheduler` with the training noise schedule, set to `steps` steps. With `clip`, each
    step clamps the predicted x_0 to [-1, 1] and recomputes the noise from it (GLIDE's recipe, which
    keeps high guidance scales from saturating); without, it retraces `ddim_inverse_scheduler` exactly."""
    from diffusers import DDIMScheduler

    scheduler = DDIMScheduler.from_config(training_scheduler.config, clip_sample=clip, **_SHARED)
    scheduler.set_timesteps(steps)
    return typed_scheduler(scheduler)


def ddim_inverse_scheduler(training_scheduler: ConfigMixin, steps: int) -> Scheduler:
    """The `DDIMInverseScheduler` on the same `steps` timesteps as `ddim_scheduler`, visited upwards."""
    from diffusers import DDIMInverseScheduler

    scheduler = DDIMInverseScheduler.from_config(training_scheduler.config, clip_sample=False, **_SHARED)
    scheduler.set_timesteps(steps)
    return typed_scheduler(scheduler)


SamplerKind = Literal["ddpm", "ddim", "dpm-solver"]


def sampler(kind: SamplerKind, training_scheduler: ConfigMixin, steps: int) -> Scheduler:
    """A scheduler of `kind` on the training noise schedule, set to `steps` steps: `DDPMScheduler`
    (ancestral sampling, fresh noise at every step, as trained), `ddim_scheduler`, or
    `DPMSolverMultistepScheduler` (a second-order solver of the same ODE DDIM follows at eta 0)."""
    from diffusers import DDPMScheduler, DPMSolverMultistepScheduler

    if kind == "ddim":
        return ddim_scheduler(training_scheduler, steps)
    if kind == "ddpm":
        scheduler = DDPMScheduler.from_config(training_scheduler.config)  # clamps each predicted x_0 to [-1, 1]
    else:
        # Its counterpart of that clamp (unclamped, a small model's x_0 estimates near t = T reach +-30 and the
        # samples saturate): dynamic thresholding, here a plain clamp to [-1, 1], as diffusers advises for pixels.
        scheduler = DPMSolverMultistepScheduler.from_config(
            training_scheduler.config, thresholding=True, sample_max_value=1.0
        )
    scheduler.set_timesteps(steps)
    return typed_scheduler(scheduler)


# Timesteps (n - 1) T/n, ..., T/n, 0 for n steps, and alpha_bar = 1 below the first: the two
# schedulers then pass through the same noise levels. (Diffusers' defaults, spelled out.)
_SHARED: dict[str, Any] = {"timestep_spacing": "leading", "set_alpha_to_one": True, "steps_offset": 0}


@torch.no_grad()
def sample(
    unet: Any,
    scheduler: Any,
    x: torch.Tensor,
    labels: torch.Tensor,
    scale: float,
    start: int = 0,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    progress: Progress = no_progress,
    stage: str = "sample",
) -> torch.Tensor:
    """Sample from `x` at `scheduler.timesteps[start]` down to x_0 (in [-1, 1], not clamped), guided by `scale`,
    with any diffusers scheduler (`sampler`); fresh noise, where the scheduler adds any, comes from `generator`.
    For DDIM, `eta` 0 is deterministic; 1 adds as much fresh noise per step as DDPM does.
    Runs in the caller's precision: wrap it in `runtime.autocast()` for bf16."""
    options: dict[str, Any] = {"generator": generator}
    if "eta" in inspect.signature(scheduler.step).parameters:  # DDIM
        options.update(eta=eta, use_clipped_model_output=scheduler.config.clip_sample)
    return _walk(unet, scheduler, scheduler.timesteps[start:], x, labels, scale, progress, stage, **options)


@torch.no_grad()
def invert(
    unet: Any,
    inverse: Any,
    x0: torch.Tensor,
    labels: torch.Tensor,
    scale: float = 1.0,
    steps: int | None = None,
    progress: Progress = no_progress,
    stage: str = "invert",
) -> torch.Tensor:
    """DDIM inversion: the first `steps` (default: all) inverse steps from the clean image `x0` in [-1, 1].
    After k steps the result sits at `inverse.timesteps[k - 1]`, which is
    `scheduler.timesteps[len - k]` for the matching forward scheduler: continue sampling from there."""
    return _walk(unet, inverse, inverse.timesteps[:steps], x0, labels, scale, progress, stage)


def _walk(
    unet: Any,
    scheduler: Any,
    timesteps: torch.Tensor,
    x: torch.Tensor,
    labels: torch.Tensor,
    scale: float,
    progress: Progress,
    stage: str,
    **step_options: Any,
) -> torch.Tensor:
    # The UNet gets its timesteps from one copy on the device: a CPU timestep would be copied at
    # every step, and a copy from pageable memory waits for the GPU to finish what it was given.
    on_device = timesteps.to(x.device)
    for i, t in enumerate(timesteps):
        eps = predict_noise(unet, x, on_device[i], labels, scale)
        x = scheduler.step(eps, t, x, **step_options).prev_sample
        progress(stage, i + 1, len(timesteps))
    return x
