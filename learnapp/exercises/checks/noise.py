"""Checks for the forward process: corrupt, the noise schedule, add_noise and the training loss.

The expected values come from `DDPMScheduler` (its `alphas_cumprod` and `add_noise`) and, for
`corrupt`, from the course's own function (unit 1, "diffusion models from scratch").
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import cache

import torch
import torch.nn.functional as F

from learnapp.exercises.checks.diffusers_types import DDPM, ddpm_scheduler
from learnapp.exercises.compare import Case, Check, Mistake, on

SHAPES = ((2, 1, 8, 8), (3, 3, 6, 5), (1, 2, 4, 4))
SCHEDULES = ("linear", "squaredcos_cap_v2")


@cache
def scheduler(schedule: str = "linear", steps: int = 1000) -> DDPM:
    return ddpm_scheduler(num_train_timesteps=steps, beta_schedule=schedule)


def _ac(schedule: str) -> torch.Tensor:
    return scheduler(schedule).alphas_cumprod.clone()


# --- corrupt (the course's unit 1 function: x·(1-amount) + uniform noise·amount) ----------------


def course_corrupt(
    x: torch.Tensor,
    amount: torch.Tensor,
    *,
    noise: Callable[[torch.Tensor], torch.Tensor] = torch.rand_like,
    flip: bool = False,
    view: bool = True,
) -> torch.Tensor:
    noise_ = noise(x)
    amount = amount.view(-1, 1, 1, 1) if view else amount
    return noise_ * (1 - amount) + x * amount if flip else x * (1 - amount) + noise_ * amount


def _corrupt_cases() -> list[Case]:
    cases = []
    for seed, shape in enumerate(SHAPES):

        def arguments(shape: tuple[int, ...] = shape, seed: int = seed) -> tuple[torch.Tensor, torch.Tensor]:
            generator = torch.Generator().manual_seed(100 + seed)
            return torch.rand(shape, generator=generator), torch.linspace(0, 1, shape[0])

        cases.append(
            Case(
                f"x of shape {shape}, amount = linspace(0, 1, {shape[0]}), seed {seed}",
                arguments,
                on(course_corrupt, arguments),
                seed,
            )
        )
    return cases


CORRUPT = Check(
    "corrupt",
    _corrupt_cases,
    (
        Mistake(
            "Gaussian noise (torch.randn_like): the course's corrupt mixes in uniform noise, torch.rand_like",
            lambda x, a: course_corrupt(x, a, noise=torch.randn_like),
        ),
        Mistake(
            "the weights are swapped: amount is how much NOISE there is, x·(1-amount) + noise·amount",
            lambda x, a: course_corrupt(x, a, flip=True),
        ),
    ),
)


# --- betas -> alpha_bar ---------------------------------------------------------------------------


def alpha_bar(
    steps: int,
    schedule: str,
    beta_start: float = 0.0001,
    beta_end: float = 0.02,
    *,
    product: Callable[..., torch.Tensor] = torch.cumprod,
    clip: float = 0.999,
    shift: int = 1,
    sqrt_space: bool = False,
    give: str = "alpha_bar",
) -> torch.Tensor:
    """diffusers' schedules, with switches that make the typical wrong versions."""
    if schedule == "linear" and not sqrt_space:
        betas = torch.linspace(beta_start, beta_end, steps, dtype=torch.float32)
    elif schedule == "linear":
        betas = torch.linspace(beta_start**0.5, beta_end**0.5, steps, dtype=torch.float32) ** 2
    else:

        def f(t: float) -> float:
            return math.cos((t + 0.008) / 1.008 * math.pi / 2) ** 2

        betas = torch.tensor(
            [min(1 - f((i + shift) / steps) / f((i + shift - 1) / steps), clip) for i in range(steps)],
            dtype=torch.float32,
        )
    if give == "betas":
        return betas
    if give == "alphas":
        return 1 - betas
    return product(1 - betas, dim=0)


def _alpha_bar_cases() -> list[Case]:
    settings = [
        (1000, "linear", 0.0001, 0.02),
        (1000, "squaredcos_cap_v2", 0.0001, 0.02),
        (10, "linear", 0.001, 0.2),
        (4, "squaredcos_cap_v2", 0.0001, 0.02),
    ]

    def diffusers_alpha_bar(steps: int, schedule: str, start: float, end: float) -> torch.Tensor:
        return ddpm_scheduler(
            num_train_timesteps=steps, beta_schedule=schedule, beta_start=start, beta_end=end
        ).alphas_cumprod

    cases = []
    for setting in settings:

        def arguments(setting: tuple[int, str, float, float] = setting) -> tuple[int, str, float, float]:
            return setting

        cases.append(
            Case(
                "num_train_timesteps={}, beta_schedule={!r}, beta_start={}, beta_end={}".format(*setting),
                arguments,
                on(diffusers_alpha_bar, arguments),
            )
        )
    return cases


ALPHA_BAR = Check(
    "alpha_bar",
    _alpha_bar_cases,
    (
        Mistake(
            "you returned α_t = 1 - β_t: ᾱ_t is their running product, torch.cumprod(1 - betas, dim=0)",
            lambda *a: alpha_bar(*a, give="alphas"),
        ),
        Mistake("you returned the betas themselves: ᾱ_t = ∏_{s<=t} (1 - β_s)", lambda *a: alpha_bar(*a, give="betas")),
        Mistake(
            "a running sum (cumsum) where ᾱ is a running product (cumprod)",
            lambda *a: alpha_bar(*a, product=torch.cumsum),
        ),
        Mistake(
            "the cosine betas are not clipped: β_t = min(1 - ᾱ(t+1)/ᾱ(t), 0.999)",
            lambda *a: alpha_bar(*a, clip=math.inf),
        ),
        Mistake(
            "off-by-one in the cosine schedule: β_i = 1 - f((i+1)/T) / f(i/T) for i = 0..T-1",
            lambda *a: alpha_bar(*a, shift=0),
        ),
        Mistake(
            "that is 'scaled_linear' (linear in √β, Stable Diffusion's): 'linear' spaces β itself evenly",
            lambda *a: alpha_bar(*a, sqrt_space=True),
        ),
    ),
    atol=1e-8,  # ᾱ ends near 1e-6 with 1000 steps: a looser atol would miss errors there
    rtol=1e-5,
)


# --- add_noise ------------------------------------------------------------------------------------


def add_noise(
    x0: torch.Tensor,
    noise: torch.Tensor,
    timesteps: torch.Tensor,
    alphas_cumprod: torch.Tensor,
    *,
    power: float = 0.5,
    swap: bool = False,
    shift: int = 0,
) -> torch.Tensor:
    a = alphas_cumprod[timesteps - shift].view(-1, *([1] * (x0.dim() - 1)))
    signal, spread = a**power, (1 - a) ** power
    return spread * x0 + signal * noise if swap else signal * x0 + spread * noise


def _add_noise_cases() -> list[Case]:
    cases = []
    for seed, (shape, schedule) in enumerate(zip(SHAPES + SHAPES[:1], SCHEDULES * 2, strict=True)):

        def arguments(
            shape: tuple[int, ...] = shape, schedule: str = schedule, seed: int = seed
        ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
            generator = torch.Generator().manual_seed(seed)
            x0 = torch.rand(shape, generator=generator) * 2 - 1
            noise = torch.randn(shape, generator=generator)
            timesteps = torch.randint(0, 1000, (shape[0],), generator=generator)
            timesteps[0] = (0, 999, 500, 1)[seed]
            return x0, noise, timesteps, _ac(schedule)

        def expected(
            arguments: Callable[[], tuple[torch.Tensor, ...]] = arguments, schedule: str = schedule
        ) -> torch.Tensor:
            x0, noise, timesteps, _ = arguments()
            return scheduler(schedule).add_noise(x0, noise, timesteps)

        cases.append(
            Case(
                f"x0 and noise of shape {shape}, {schedule} schedule, timesteps {arguments()[2].tolist()}",
                arguments,
                expected,
                seed,
            )
        )
    return cases


ADD_NOISE = Check(
    "add_noise",
    _add_noise_cases,
    (
        Mistake(
            "√ forgotten: x_t = √ᾱ_t·x0 + √(1-ᾱ_t)·ε; you multiplied by ᾱ_t and 1-ᾱ_t themselves",
            lambda *a: add_noise(*a, power=1.0),
        ),
        Mistake(
            "the coefficients are swapped: the clean image gets √ᾱ_t, the noise √(1-ᾱ_t)",
            lambda *a: add_noise(*a, swap=True),
        ),
        Mistake(
            "off-by-one timestep: ᾱ for timestep t is alphas_cumprod[t], not alphas_cumprod[t-1]",
            lambda *a: add_noise(*a, shift=1),
        ),
    ),
)


# --- the training loss -------------------------------------------------------------------------------


class TinyModel(torch.nn.Module):
    """Stands in for the UNet: any function of (noisy images, timesteps) with the images' shape."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        generator = torch.Generator().manual_seed(channels)
        self.weight = torch.nn.Parameter(torch.randn(channels, channels, 3, 3, generator=generator) * 0.2)

    def forward(self, x: torch.Tensor, timesteps: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, self.weight, padding=1) + (timesteps.float() / 1000).view(-1, 1, 1, 1)


def training_loss(
    model: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    clean_images: torch.Tensor,
    noise_scheduler: DDPM,
    generator: torch.Generator,
    *,
    target: str = "noise",
    order: str = "noise-first",
    high_offset: int = 0,
    noised: bool = True,
) -> torch.Tensor:
    """The course's training step up to the loss, with switches for the typical wrong versions."""
    steps = noise_scheduler.config.num_train_timesteps
    shape, batch = clean_images.shape, clean_images.shape[0]
    if order == "noise-first":
        noise = torch.randn(shape, generator=generator)
        timesteps = torch.randint(0, steps - high_offset, (batch,), generator=generator)
    else:
        timesteps = torch.randint(0, steps - high_offset, (batch,), generator=generator)
        noise = torch.randn(shape, generator=generator)
    noisy = noise_scheduler.add_noise(clean_images, noise, timesteps) if noised else clean_images
    prediction = model(noisy, timesteps)
    goal = {"noise": noise, "clean": clean_images, "noisy": noisy}[target]
    return F.mse_loss(prediction, goal)


def _loss_cases() -> list[Case]:
    cases = []
    # strict=False: the schedules alternate over the 3 shapes, the 4th never comes
    for seed, (shape, schedule) in enumerate(zip(SHAPES, SCHEDULES * 2, strict=False)):

        def arguments(
            shape: tuple[int, ...] = shape, schedule: str = schedule, seed: int = seed
        ) -> tuple[TinyModel, torch.Tensor, DDPM, torch.Generator]:
            images = torch.rand(shape, generator=torch.Generator().manual_seed(50 + seed)) * 2 - 1
            return TinyModel(shape[1]), images, scheduler(schedule), torch.Generator().manual_seed(seed)

        cases.append(
            Case(
                f"clean images of shape {shape}, {schedule} schedule, generator seed {seed}",
                arguments,
                on(training_loss, arguments),
                seed,
            )
        )
    return cases


TRAINING_LOSS = Check(
    "training_loss",
    _loss_cases,
    (
        Mistake(
            "the target is the clean image: this model predicts the NOISE, mse_loss(noise_pred, noise)",
            lambda *a: training_loss(*a, target="clean"),
        ),
        Mistake(
            "the target is the noisy image: the model predicts the noise that was added, not x_t",
            lambda *a: training_loss(*a, target="noisy"),
        ),
        Mistake(
            "the model saw the clean images: give it noisy_images = add_noise(clean, noise, timesteps)",
            lambda *a: training_loss(*a, noised=False),
        ),
        Mistake(
            "timesteps drawn before the noise: draw the noise first, then the timesteps, from the generator",
            lambda *a: training_loss(*a, order="timesteps-first"),
        ),
        Mistake(
            "off-by-one: torch.randint's high is exclusive, so randint(0, num_train_timesteps) covers 0..T-1",
            lambda *a: training_loss(*a, high_offset=1),
        ),
    ),
)
