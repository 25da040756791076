"""Checks for the reverse process: a DDPM step, a DDIM step, a DDIM inversion step, classifier-free
guidance and img2img's start from `strength`.

Expected values: `DDPMScheduler.step` (with a seeded generator), `DDIMScheduler.step` (eta 0) and
`DDIMInverseScheduler.step`, each with `clip_sample=False` (the exercises leave clipping out);
the CFG line and `get_timesteps` of diffusers' Stable Diffusion pipelines, copied here because
importing those pipelines needs `transformers`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from typing import Protocol, TypeVar

import torch

from learnapp.exercises.checks.diffusers_types import (
    DDIM,
    DDPM,
    DDIMInverse,
    Scheduler,
    ddim_inverse_scheduler,
    ddim_scheduler,
    ddpm_scheduler,
)
from learnapp.exercises.compare import Case, Check, Mistake, on

SHAPES = ((2, 1, 8, 8), (1, 3, 6, 5), (3, 2, 4, 4))
STEPS = (1000, 50, 10)

S = TypeVar("S", bound=Scheduler)
S_contra = TypeVar("S_contra", bound=Scheduler, contravariant=True)


@cache
def _scheduler(kind: Callable[..., S], steps: int, schedule: str = "linear") -> S:
    scheduler = kind(num_train_timesteps=1000, beta_schedule=schedule, clip_sample=False)
    scheduler.set_timesteps(steps)
    return scheduler


def _picks(timesteps: torch.Tensor) -> list[int]:
    """A high, a middle and the last timestep (the last is where index and noise rules bite)."""
    return [int(timesteps[0]), int(timesteps[len(timesteps) // 2]), int(timesteps[-1])]


class _Call(Protocol[S_contra]):
    """How one scheduler's step is called: the learner's arguments, and the scheduler's own answer."""

    @staticmethod
    def arguments(
        model_output: torch.Tensor, t: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor, prev: int, seed: int
    ) -> tuple[object, ...]: ...

    @staticmethod
    def expected(
        scheduler: S_contra, model_output: torch.Tensor, t: int, sample: torch.Tensor, seed: int
    ) -> torch.Tensor: ...


def _step_cases(kind: Callable[..., S], call: type[_Call[S]], prev_of: Callable[[S, int], int]) -> list[Case]:
    """Cases for a scheduler step: several shapes, numbers of steps, timesteps and seeds."""
    cases = []
    for index, (shape, steps) in enumerate(zip(SHAPES, STEPS, strict=True)):
        schedule = ("linear", "squaredcos_cap_v2")[index % 2]
        scheduler = _scheduler(kind, steps, schedule)
        for t in _picks(scheduler.timesteps):
            seed = 7 * index + t % 7

            def tensors(shape: tuple[int, ...] = shape, seed: int = seed) -> tuple[torch.Tensor, torch.Tensor]:
                generator = torch.Generator().manual_seed(seed)
                return torch.randn(shape, generator=generator), torch.randn(shape, generator=generator)

            def arguments(
                tensors: Callable[[], tuple[torch.Tensor, torch.Tensor]] = tensors,
                t: int = t,
                scheduler: S = scheduler,
                seed: int = seed,
            ) -> tuple[object, ...]:
                model_output, sample = tensors()
                return call.arguments(
                    model_output, t, sample, scheduler.alphas_cumprod.clone(), prev_of(scheduler, t), seed
                )

            def expected(
                tensors: Callable[[], tuple[torch.Tensor, torch.Tensor]] = tensors,
                t: int = t,
                scheduler: S = scheduler,
                seed: int = seed,
            ) -> torch.Tensor:
                model_output, sample = tensors()
                return call.expected(scheduler, model_output, t, sample, seed)

            cases.append(
                Case(
                    f"shape {shape}, {schedule} schedule, {steps} steps, timestep {t} "
                    f"(other timestep {prev_of(scheduler, t)}), seed {seed}",
                    arguments,
                    expected,
                    seed,
                )
            )
    return cases


def _alpha_bar(alphas_cumprod: torch.Tensor, timestep: int, wrap: bool) -> torch.Tensor:
    """ᾱ at a timestep; a negative one is the clean image, ᾱ = 1 (`wrap`: the mistake of indexing anyway)."""
    return alphas_cumprod[timestep] if timestep >= 0 or wrap else torch.tensor(1.0)


# --- the DDPM step --------------------------------------------------------------------------------


def ddpm_step(
    model_output: torch.Tensor,
    timestep: int,
    sample: torch.Tensor,
    alphas_cumprod: torch.Tensor,
    prev_timestep: int,
    generator: torch.Generator,
    *,
    variance_power: float = 0.5,
    alpha_is_alpha_bar: bool = False,
    wrap_prev: bool = False,
    large_variance: bool = False,
    prev_shift: bool = False,
) -> torch.Tensor:
    """DDPMScheduler.step (epsilon prediction, fixed_small variance), with switches for wrong versions."""
    a_t = alphas_cumprod[timestep]
    a_prev = _alpha_bar(alphas_cumprod, timestep - 1 if prev_shift else prev_timestep, wrap_prev)
    alpha_t = a_t if alpha_is_alpha_bar else a_t / a_prev
    beta_t = 1 - alpha_t
    x0 = (sample - (1 - a_t) ** 0.5 * model_output) / a_t**0.5
    mean = (a_prev**0.5 * beta_t / (1 - a_t)) * x0 + (alpha_t**0.5 * (1 - a_prev) / (1 - a_t)) * sample
    if timestep > 0:
        z = torch.randn(model_output.shape, generator=generator, dtype=model_output.dtype)
        variance = beta_t if large_variance else torch.clamp((1 - a_prev) / (1 - a_t) * beta_t, min=1e-20)
        mean = mean + variance**variance_power * z
    return mean


class _DDPM:
    @staticmethod
    def arguments(
        model_output: torch.Tensor, t: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor, prev: int, seed: int
    ) -> tuple[torch.Tensor, int, torch.Tensor, torch.Tensor, int, torch.Generator]:
        return model_output, t, sample, alphas_cumprod, prev, torch.Generator().manual_seed(seed)

    @staticmethod
    def expected(scheduler: DDPM, model_output: torch.Tensor, t: int, sample: torch.Tensor, seed: int) -> torch.Tensor:
        return scheduler.step(model_output, t, sample, generator=torch.Generator().manual_seed(seed)).prev_sample


def _ddpm_prev(scheduler: DDPM, t: int) -> int:
    return int(scheduler.previous_timestep(t))


DDPM_STEP = Check(
    "ddpm_step",
    lambda: _step_cases(ddpm_scheduler, _DDPM, _ddpm_prev),
    (
        Mistake(
            "√ forgotten on the variance: add σ_t·z with σ_t = √(β̃_t), not β̃_t·z",
            lambda *a: ddpm_step(*a, variance_power=1.0),
        ),
        Mistake(
            "α and ᾱ mixed up: this jump's α_t = ᾱ_t / ᾱ_prev; you used ᾱ_t itself",
            lambda *a: ddpm_step(*a, alpha_is_alpha_bar=True),
        ),
        Mistake(
            "ᾱ_prev at the last step: prev_timestep is -1 there and ᾱ_prev = 1; alphas_cumprod[-1] is the noisiest ᾱ",
            lambda *a: ddpm_step(*a, wrap_prev=True),
        ),
        Mistake(
            "the variance is β_t ('fixed_large'); DDPMScheduler's default is the posterior's "
            "β̃_t = (1-ᾱ_prev)/(1-ᾱ_t)·β_t",
            lambda *a: ddpm_step(*a, large_variance=True),
        ),
        Mistake(
            "off-by-one timestep: the previous timestep is prev_timestep (t - 1000 // steps), not t - 1",
            lambda *a: ddpm_step(*a, prev_shift=True),
        ),
    ),
    atol=1e-5,
    rtol=1e-4,
)


# --- the DDIM step (eta = 0) ------------------------------------------------------------------------


def ddim_step(
    model_output: torch.Tensor,
    timestep: int,
    sample: torch.Tensor,
    alphas_cumprod: torch.Tensor,
    prev_timestep: int,
    *,
    power: float = 0.5,
    swap: bool = False,
    wrap_prev: bool = False,
    prev_shift: bool = False,
) -> torch.Tensor:
    a_t = _alpha_bar(alphas_cumprod, timestep, wrap_prev)
    a_prev = _alpha_bar(alphas_cumprod, timestep - 1 if prev_shift else prev_timestep, wrap_prev)
    if swap:
        a_t, a_prev = a_prev, a_t
    x0 = (sample - (1 - a_t) ** power * model_output) / a_t**power
    return a_prev**power * x0 + (1 - a_prev) ** power * model_output


class _DDIM:
    @staticmethod
    def arguments(
        model_output: torch.Tensor, t: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor, prev: int, seed: int
    ) -> tuple[torch.Tensor, int, torch.Tensor, torch.Tensor, int]:
        return model_output, t, sample, alphas_cumprod, prev

    @staticmethod
    def expected(scheduler: DDIM, model_output: torch.Tensor, t: int, sample: torch.Tensor, seed: int) -> torch.Tensor:
        return scheduler.step(model_output, t, sample, eta=0.0).prev_sample


def _ddim_prev(scheduler: DDIM, t: int) -> int:
    return t - scheduler.config.num_train_timesteps // scheduler.num_inference_steps


_DDIM_MISTAKES = (
    Mistake(
        "√ forgotten: x0 = (x_t - √(1-ᾱ_t)·ε) / √ᾱ_t and x_prev = √ᾱ_prev·x0 + √(1-ᾱ_prev)·ε",
        lambda *a: ddim_step(*a, power=1.0),
    ),
    Mistake(
        "ᾱ_t and ᾱ_prev swapped: x0 is predicted with ᾱ at the current timestep, then re-noised to the other one",
        lambda *a: ddim_step(*a, swap=True),
    ),
    Mistake(
        "ᾱ at a negative timestep: there ᾱ = 1 (the clean image), not alphas_cumprod[-1] (the noisiest)",
        lambda *a: ddim_step(*a, wrap_prev=True),
    ),
    Mistake(
        "off-by-one timestep: jump to the given other timestep (t ∓ 1000 // steps), not t ∓ 1",
        lambda *a: ddim_step(*a, prev_shift=True),
    ),
)

DDIM_STEP = Check("ddim_step", lambda: _step_cases(ddim_scheduler, _DDIM, _ddim_prev), _DDIM_MISTAKES)


# --- one DDIM inversion step ------------------------------------------------------------------------


class _Inverse:
    @staticmethod
    def arguments(
        model_output: torch.Tensor, t: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor, current: int, seed: int
    ) -> tuple[torch.Tensor, int, torch.Tensor, torch.Tensor, int]:
        return model_output, current, sample, alphas_cumprod, t

    @staticmethod
    def expected(
        scheduler: DDIMInverse, model_output: torch.Tensor, t: int, sample: torch.Tensor, seed: int
    ) -> torch.Tensor:
        return scheduler.step(model_output, t, sample).prev_sample


def _inverse_current(scheduler: DDIMInverse, t: int) -> int:
    """DDIMInverseScheduler.step(t) goes from t - 1000 // steps (less noisy) to t."""
    return t - scheduler.config.num_train_timesteps // scheduler.num_inference_steps


def _forward_direction(
    model_output: torch.Tensor, timestep: int, sample: torch.Tensor, alphas_cumprod: torch.Tensor, next_timestep: int
) -> torch.Tensor:
    """A DDIM sampling step from next_timestep to timestep: inversion run the wrong way."""
    return ddim_step(model_output, next_timestep, sample, alphas_cumprod, timestep)


DDIM_INVERSION = Check(
    "ddim_inversion_step",
    lambda: _step_cases(ddim_inverse_scheduler, _Inverse, _inverse_current),
    (
        Mistake(
            "the wrong direction: inversion predicts x0 with ᾱ at `timestep` (less noisy) and re-noises it "
            "to `next_timestep`; you went from next_timestep down to timestep",
            _forward_direction,
        ),
        *_DDIM_MISTAKES,
    ),
)


# --- classifier-free guidance ------------------------------------------------------------------------


def cfg(
    noise_pred: torch.Tensor,
    guidance_scale: float,
    *,
    order: tuple[int, int] = (0, 1),
    sign: float = 1.0,
    base: bool = True,
    dim: int = 0,
) -> torch.Tensor:
    """Stable Diffusion pipelines: noise_pred_uncond + guidance_scale * (noise_pred_text - noise_pred_uncond)."""
    chunks = noise_pred.chunk(2, dim=dim)
    uncond, text = chunks[order[0]], chunks[order[1]]
    return (uncond if base else 0) + sign * guidance_scale * (text - uncond)


def _cfg_cases() -> list[Case]:
    cases = []
    for seed, (shape, scale) in enumerate(
        zip(((4, 4, 8, 8), (2, 3, 6, 6), (6, 2, 4, 4)), (7.5, 3.0, 1.5), strict=True)
    ):

        def arguments(
            shape: tuple[int, ...] = shape, scale: float = scale, seed: int = seed
        ) -> tuple[torch.Tensor, float]:
            return torch.randn(shape, generator=torch.Generator().manual_seed(seed)), scale

        cases.append(
            Case(
                f"noise_pred of shape {shape} (batch {shape[0] // 2} twice), guidance_scale {scale}",
                arguments,
                on(cfg, arguments),
                seed,
            )
        )
    return cases


CFG = Check(
    "classifier_free_guidance",
    _cfg_cases,
    (
        Mistake(
            "the guidance sign: push AWAY from the unconditional prediction, ε_uncond + s·(ε_text - ε_uncond)",
            lambda *a: cfg(*a, sign=-1.0),
        ),
        Mistake(
            "the halves swapped: the pipeline runs the batch as torch.cat([uncond, text]), "
            "so chunk(2) gives (uncond, text) in that order",
            lambda *a: cfg(*a, order=(1, 0)),
        ),
        Mistake(
            "the unconditional prediction is missing: guidance adds s·(ε_text - ε_uncond) TO ε_uncond",
            lambda *a: cfg(*a, base=False),
        ),
        Mistake(
            "chunked along the wrong dimension: the two halves are along the batch, dim 0", lambda *a: cfg(*a, dim=1)
        ),
    ),
)


# --- img2img: where to start from `strength` ---------------------------------------------------------


def img2img_timesteps(
    timesteps: torch.Tensor,
    strength: float,
    *,
    rounding: Callable[[float], int] = int,
    from_start: bool = False,
    extra: int = 0,
) -> torch.Tensor:
    """StableDiffusionImg2ImgPipeline.get_timesteps (scheduler order 1)."""
    steps = len(timesteps)
    init_timestep = min(rounding(steps * strength), steps)
    t_start = max(steps - init_timestep, 0) + extra
    return timesteps[:init_timestep] if from_start else timesteps[t_start:]


def _img2img_cases() -> list[Case]:
    settings = [(50, 0.8), (10, 0.75), (7, 0.3), (25, 1.0), (4, 0.9), (12, 0.55), (20, 0.0)]
    cases = []
    for steps, strength in settings:

        def arguments(steps: int = steps, strength: float = strength) -> tuple[torch.Tensor, float]:
            return _scheduler(ddim_scheduler, steps).timesteps.clone(), strength

        cases.append(
            Case(
                f"DDIMScheduler.set_timesteps({steps}), strength {strength}",
                arguments,
                on(img2img_timesteps, arguments),
            )
        )
    return cases


IMG2IMG = Check(
    "img2img_timesteps",
    _img2img_cases,
    (
        Mistake(
            "the first steps instead of the last: img2img skips the noisiest steps and runs the last "
            "int(steps·strength) of them",
            lambda *a: img2img_timesteps(*a, from_start=True),
        ),
        Mistake(
            "round() instead of int(): the pipeline truncates, init_timestep = int(steps·strength)",
            lambda *a: img2img_timesteps(*a, rounding=round),
        ),
        Mistake(
            "off-by-one: start at index steps - init_timestep, not one after it",
            lambda *a: img2img_timesteps(*a, extra=1),
        ),
        Mistake(
            "strength is how much is REDONE: t_start = steps - int(steps·strength), not int(steps·strength)",
            lambda t, s: img2img_timesteps(t, 1 - s),
        ),
    ),
    atol=0,
    rtol=0,
)
