"""Guidance by a differentiable loss on the predicted x0, as unit 2 of the course steers sampling.

At every DDIM step the model predicts the noise, the scheduler turns that into its estimate of
the clean image (`pred_original_sample`), a loss scores that estimate, and x moves against the
loss's gradient before the step is taken:

    x = x.detach().requires_grad_()
    eps = model(x, t)
    x0 = scheduler.step(eps, t, x).pred_original_sample
    grad = torch.autograd.grad(loss(x0) * scale, x)[0]
    x = scheduler.step(eps, t, x.detach() - grad).prev_sample

With `through_model` the gradient flows through the model as well (unit 2's full variant);
without, x requires grad only after the model's call (its shortcut: about a third of the
compute and memory, a less exact gradient, since eps is then treated as a constant).
`window` applies the gradient only on a stretch of the steps: (0, 0.5) the first, noisiest
half, (0.5, 1) the second.

A loss takes x0 in model space ([-1, 1]) and returns one value per image; the sampler sums
them, so that a scale means the same for any batch size.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
import torch.nn.functional as F

from .base import Progress, no_progress

ImageLoss = Callable[[torch.Tensor], torch.Tensor]  # x0 in [-1, 1], (N, C, H, W) -> (N,)


def brightness_loss(target: float) -> ImageLoss:
    """How far each image's mean intensity (pixels in [0, 1]) is from `target`: unit 2's colour loss
    with one grey channel, on the image's mean instead of every pixel."""

    def loss(x0: torch.Tensor) -> torch.Tensor:
        return ((x0 / 2 + 0.5).flatten(1).mean(1) - target).abs()

    return loss


def class_loss(judge: torch.nn.Module, digit: int) -> ImageLoss:
    """Classifier guidance: minus the judge's log-probability that each image is `digit`."""

    def loss(x0: torch.Tensor) -> torch.Tensor:
        return -F.log_softmax(judge(x0 / 2 + 0.5), dim=1)[:, digit]

    return loss


def in_window(step: int, steps: int, window: tuple[float, float]) -> bool:
    """Whether step `step` of `steps` (0 = the noisiest) lies in the fraction `window` of the run."""
    return window[0] <= step / steps < window[1]


def sample(
    model: Any,
    scheduler: Any,
    x: torch.Tensor,
    labels: torch.Tensor,
    loss: ImageLoss | None = None,
    scale: float = 0.0,
    window: tuple[float, float] = (0.0, 1.0),
    through_model: bool = True,
    eta: float = 0.0,
    generator: torch.Generator | None = None,
    progress: Progress = no_progress,
    stage: str = "sample",
) -> torch.Tensor:
    """Sample from the noise `x` with a DDIM `scheduler` (set to its steps) and `model(x, t, class_labels=labels)`,
    guided by `loss` times `scale` on the steps in `window`; `eta` > 0 adds fresh noise each step (from
    `generator`). Returns x0 in [-1, 1] (not clamped)."""
    timesteps = scheduler.timesteps
    steps = len(timesteps)
    for i, t in enumerate(timesteps):
        batch_t = t.to(x.device).expand(len(x))  # a DiT embeds one timestep per image
        guided = loss is not None and scale != 0 and in_window(i, steps, window)
        if not guided:
            with torch.no_grad():
                eps = model(x, batch_t, class_labels=labels).sample.float()
        else:
            x = x.detach().requires_grad_(through_model)
            with torch.set_grad_enabled(through_model):
                eps = model(x, batch_t, class_labels=labels).sample.float()
            if not through_model:
                x.requires_grad_()
            x0 = scheduler.step(eps, t, x).pred_original_sample  # eta only changes prev_sample
            grad = torch.autograd.grad(loss(x0).sum() * scale, x)[0]  # type: ignore[misc]
            x, eps = (x - grad).detach(), eps.detach()
        # With a clipping scheduler the noise is recomputed from the clipped x0 (GLIDE's recipe, as guidance.py).
        x = scheduler.step(
            eps, t, x, eta=eta, generator=generator, use_clipped_model_output=scheduler.config.clip_sample
        ).prev_sample
        progress(stage, i + 1, steps)
    return x.detach()
