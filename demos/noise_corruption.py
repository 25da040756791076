"""noise-corruption: how a clean image becomes noise, the course's way and DDPM's way.

The course's first model corrupts an image by mixing it with uniform noise,
`corrupt(x, amount) = x * (1 - amount) + noise * amount`, amount from 0 to 1. DDPM instead
adds Gaussian noise so that the variance stays 1 at every step:

    x_t = sqrt(alpha_bar_t) * x_0 + sqrt(1 - alpha_bar_t) * eps,   alpha_bar_t = prod_{s<=t} (1 - beta_s)

(`DDPMScheduler.add_noise`). The schedule of betas decides how fast the signal fades: the
linear schedule (Ho et al.) destroys most of it by mid-way, the cosine schedule
(`squaredcos_cap_v2`, Nichol & Dhariwal) spreads the destruction evenly over the steps.

Writes corruption_grid.png (the same real images under all three), alpha_bar_curves.png (the
signal and noise coefficients, and the signal-to-noise ratio, against t) and
forward_noising.gif; metrics.json holds how much of each image survives at each level.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from . import DEMOS
from .base import Progress, Result
from .config import at_least, require
from .data import DatasetName, ImageSet, load_images, to_pixels
from .diffusers_types import Scheduler, typed_scheduler
from .noising import corrupt
from .output import save_figure, save_gif

GRID, CURVES, ANIMATION = DEMOS["noise-corruption"].outputs  # the files cards may point at


@dataclass
class Config:
    dataset: DatasetName = field(default="digits", metadata={"help": "training images: digits (built in) or mnist"})
    image_size: int = field(default=28, metadata={"help": "pixels per side"})
    images: int = field(default=2, metadata={"help": "how many real images to corrupt"})
    levels: int = field(default=9, metadata={"help": "noise levels shown, from clean to pure noise"})
    num_train_timesteps: int = field(default=1000, metadata={"help": "DDPM steps T"})
    beta_start: float = field(default=1e-4, metadata={"help": "first beta of the linear schedule"})
    beta_end: float = field(default=0.02, metadata={"help": "last beta of the linear schedule"})
    seed: int = field(default=0, metadata={"help": "seed for the images and the noise"})

    @classmethod
    def quick(cls) -> Config:
        return cls()  # the full preset already takes a second or two

    def __post_init__(self) -> None:
        at_least(self, 1, "images", "image_size")
        at_least(self, 0, "seed")
        at_least(self, 2, "levels", "num_train_timesteps")
        require(
            0 < self.beta_start < self.beta_end < 1,
            f"--beta-start {self.beta_start} / --beta-end {self.beta_end}: need 0 < start < end < 1",
        )


def schedulers(config: Config) -> dict[str, Scheduler]:
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

    return {
        "linear": typed_scheduler(
            DDPMScheduler(config.num_train_timesteps, config.beta_start, config.beta_end, "linear")
        ),
        "cosine": typed_scheduler(DDPMScheduler(config.num_train_timesteps, beta_schedule="squaredcos_cap_v2")),
    }


def timesteps_at(fractions: torch.Tensor, config: Config) -> torch.Tensor:
    """DDPM's timestep for each fraction of the way from clean (0) to pure noise (1)."""
    return (fractions * (config.num_train_timesteps - 1)).round().long()


def noised(
    x0: torch.Tensor,
    uniform: torch.Tensor,
    gaussian: torch.Tensor,
    fractions: torch.Tensor,
    config: Config,
    ddpm: dict[str, Scheduler],
) -> dict[str, torch.Tensor]:
    """Each image at each level (images x levels x C x H x W): `corrupt` with amount = fraction, in
    [0, 1]; each DDPM scheduler's `add_noise` at t = fraction * (T - 1) on the image scaled to
    [-1, 1], as x_t."""
    batch = len(x0)
    versions = {"corrupt": torch.stack([corrupt(x0, a.expand(batch), uniform) for a in fractions], 1)}
    for name, scheduler in ddpm.items():
        versions[name] = torch.stack(
            [scheduler.add_noise(x0 * 2 - 1, gaussian, t.expand(batch)) for t in timesteps_at(fractions, config)], 1
        )
    return versions


def pixels(name: str, version: torch.Tensor) -> torch.Tensor:
    """What a learner sees: corrupt is already in [0, 1]; x_t is shown as pipelines do, x/2 + 0.5."""
    return version if name == "corrupt" else to_pixels(version)


def run(config: Config, out_dir: Path, progress: Progress) -> Result:
    generator = torch.Generator().manual_seed(config.seed)
    stage, steps = "corrupt images", 4

    # 1. Real images in [0, 1] (the course's range), and one draw of each kind of noise,
    #    shared by every level so that only the amount of noise changes along a row.
    x0 = _distinct_digits(
        load_images(config.dataset, config.image_size, 20 * config.images, config.seed), config.images
    )
    uniform = torch.rand(x0.shape, generator=generator)
    gaussian = torch.randn(x0.shape, generator=generator)
    progress(stage, 1, steps)

    # 2. Column j is the same fraction j/(L-1) of the way to pure noise for all three methods.
    ddpm = schedulers(config)
    fractions = torch.linspace(0, 1, config.levels)
    timesteps = timesteps_at(fractions, config)
    versions = noised(x0, uniform, gaussian, fractions, config, ddpm)
    progress(stage, 2, steps)

    # 3. How much of the image survives: the correlation of each noisy image with its original;
    #    and where the signal-to-noise ratio alpha_bar / (1 - alpha_bar) crosses 1.
    survival = {name: _correlation(x0, version) for name, version in versions.items()}
    curves = {name: scheduler.alphas_cumprod.cpu().numpy() for name, scheduler in ddpm.items()}
    snr_one = {name: int(np.argmax(ab < 0.5)) if ab[-1] < 0.5 else None for name, ab in curves.items()}

    # 4. Figures, and the forward process as an animation (corrupt, linear, cosine side by side).
    files = [
        _grid_figure(versions, fractions, timesteps, out_dir / GRID),
        _curves_figure(curves, out_dir / CURVES),
    ]
    progress(stage, 3, steps)
    frames = torch.linspace(0, 1, 31)
    animated = {
        name: pixels(name, version) for name, version in noised(x0, uniform, gaussian, frames, config, ddpm).items()
    }
    frame_t = timesteps_at(frames, config)
    files.append(
        save_gif(
            # one row per image: corrupt, linear, cosine
            [
                torch.stack([version[:, k] for version in animated.values()], 1).flatten(0, 1)
                for k in range(len(frames))
            ],
            out_dir / ANIMATION,
            labels=[
                f"corrupt | linear | cosine\namount {a:.2f} | t = {t}"
                for a, t in zip(frames.tolist(), frame_t.tolist(), strict=True)
            ],
            columns=len(animated),
            scale=4,
        )
    )
    progress(stage, 4, steps)

    metrics = {
        "levels": {"amount": fractions.tolist(), "timestep": timesteps.tolist()},
        "correlation_with_original": {name: values.tolist() for name, values in survival.items()},
        "signal_coefficient_at_last_step": {name: float(np.sqrt(ab[-1])) for name, ab in curves.items()},
        "snr_equals_one_at_timestep": snr_one,
    }
    middle = config.levels // 2
    summary = [
        f"Half way (amount {fractions[middle]:.2f} / t={timesteps[middle]}), correlation with the original: "
        + ", ".join(f"{name} {values[middle]:.2f}" for name, values in survival.items()),
        "Signal and noise weigh the same (SNR = 1) at "
        + ", ".join(f"t={t} ({name})" if t is not None else f"no step ({name})" for name, t in snr_one.items()),
    ]
    return Result(files=files, metrics=metrics, summary=summary)


def _distinct_digits(data: ImageSet, count: int) -> torch.Tensor:
    """The first `count` images of different classes (as many as there are), in [0, 1]."""
    firsts: dict[int, int] = {}
    for index, label in enumerate(data.labels.tolist()):
        firsts.setdefault(label, index)
    chosen = (list(firsts.values()) + [i for i in range(len(data)) if i not in firsts.values()])[:count]
    return data.floats(torch.tensor(chosen))


def _correlation(x0: torch.Tensor, noisy: torch.Tensor) -> torch.Tensor:
    """Pearson correlation of each noisy image (images x levels) with its original, averaged over images."""
    a = x0.flatten(1)[:, None, :]
    b = noisy.flatten(2)
    a = a - a.mean(-1, keepdim=True)
    b = b - b.mean(-1, keepdim=True)
    r = (a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1)).clamp_min(1e-12)
    return r.mean(0)


ROW_NAMES = {"corrupt": "corrupt (course)", "linear": "DDPM linear", "cosine": "DDPM cosine"}


def _grid_figure(
    versions: dict[str, torch.Tensor], fractions: torch.Tensor, timesteps: torch.Tensor, path: Path
) -> Path:
    import matplotlib.pyplot as plt

    images, levels = next(iter(versions.values())).shape[:2]
    figure, axes = plt.subplots(
        images * len(versions), levels, squeeze=False, figsize=(1.15 * levels + 1.2, 1.3 * images * len(versions))
    )
    for i in range(images):
        for r, (name, version) in enumerate(versions.items()):
            row = i * len(versions) + r
            shown = pixels(name, version)
            for j in range(levels):
                ax = axes[row, j]
                ax.imshow(shown[i, j, 0].numpy(), cmap="gray", vmin=0, vmax=1, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
                ax.set_title(
                    f"amount {fractions[j]:.2f}" if name == "corrupt" else f"t = {timesteps[j]}", fontsize=7, pad=2
                )
            axes[row, 0].set_ylabel(ROW_NAMES[name], fontsize=8)
    figure.suptitle(
        "The same images corrupted: the course's uniform mix vs DDPM add_noise (x_t shown as x/2 + 0.5)", fontsize=10
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _curves_figure(curves: dict[str, np.ndarray], path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
    for (name, ab), colour in zip(curves.items(), ("tab:blue", "tab:orange"), strict=True):
        t = np.arange(len(ab))
        left.plot(t, np.sqrt(ab), color=colour, label=f"{name}: sqrt(alpha_bar)  (signal)")
        left.plot(t, np.sqrt(1 - ab), color=colour, linestyle="--", label=f"{name}: sqrt(1 - alpha_bar)  (noise)")
        right.plot(t, np.log10(ab / (1 - ab)), color=colour, label=name)
    t = np.arange(len(next(iter(curves.values()))))
    amount = t / (len(t) - 1)
    left.plot(t, 1 - amount, color="grey", linestyle=":", label="corrupt: 1 - amount, amount")
    left.plot(t, amount, color="grey", linestyle=":")
    left.set(xlabel="timestep t", ylabel="coefficient", title="x_t = sqrt(alpha_bar) x_0 + sqrt(1 - alpha_bar) eps")
    left.legend(fontsize=7)
    right.axhline(0, color="grey", linewidth=0.8)
    right.set(
        xlabel="timestep t",
        ylabel="log10 SNR = log10(alpha_bar / (1 - alpha_bar))",
        title="Signal-to-noise ratio (0 = equal weight)",
    )
    right.legend(fontsize=8)
    figure.tight_layout()
    return save_figure(figure, path)
