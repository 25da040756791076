"""cfg: a class-conditioned UNet sampled with classifier-free guidance, the effect of the scale measured.

1. Train (unit 2 of the course, with diffusers' own class embedding): a `UNet2DModel` with
   `num_class_embeds = 11`, the ten digits and a null class; a learned vector per class is added
   to the timestep embedding. Label dropout: with probability `label_dropout` a training image's
   label becomes the null class, so one network learns both eps(x_t, t, y) and eps(x_t, t, ∅).
2. Train the judge: a small CNN on the same digits (`classifier.py`), scored on held-out scans.
3. Sample with DDIM and the guided prediction `eps = eps_uncond + s * (eps_cond - eps_uncond)`
   (`guidance.py`) at every scale of the sweep, from the same noise, ten classes each. With
   `eta` 1 (the default) each step adds fresh noise as DDPM does, which this small model's
   samples need to come out clean at low scales; `--eta 0` shows deterministic DDIM.
4. Measure per scale: class accuracy (how often the judge sees the digit that was asked for),
   diversity (mean distance between samples of a class in the judge's feature space) and the
   Fréchet distance of all samples to real held-out digits in that space.

5. The course's conditioning against diffusers': unit 2's model (`conditioning.CourseConditionedUnet`:
   `nn.Embedding(10, 4)`, broadcast to every pixel and concatenated as 4 extra input channels,
   `UNet2DModel(in_channels=1 + 4)`) is trained on the same digits with the same settings, and
   sampled from the same noise. It has no null class, so it is compared without guidance (its
   conditional prediction, against the `num_class_embeds` model at s = 1) and against the guided
   `num_class_embeds` model at `--guidance-scale`: accuracy, Fréchet distance, final loss, parameters.

Writes guidance_grid.png (real digits, then one panel per scale: rows = classes, the same noise
in every panel), guidance_sweep.png (accuracy, diversity and Fréchet distance against the scale),
conditioning_comparison.png (the two ways of conditioning) and a larger grid per scale. The trained
models go to the model cache, where ddim-inversion finds the guided UNet and the judge
(`conditioning.pretrained_models`, shared by both demos: the `ModelConfig` fields are the keys).

The noise schedule is DDPM's linear one rather than the course's cosine, for ddim-inversion's sake:
trained on the cosine schedule, the quick model's DDIM reconstructions stopped improving beyond
about 50 steps and got worse at 250 (errors near t = T, where the cosine betas climb to their
0.999 cap, are amplified on the way back); on the linear one they improve steadily up to 250.
Sampling clamps each predicted x_0 to [-1, 1] (GLIDE's recipe), which keeps scale 7 from saturating.

The full preset is sized for a GPU: the aim is the whole run, training included, within a
minute on an H100-class card (`benchmarks/bench_guidance.py` measures it). The quick one trains
a smaller model on 16x16 digits, on a CPU, in about a minute.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import DEMOS, classifier, guidance
from .base import Progress, Result
from .conditioning import (
    CLASS_EMB_SIZE,
    CLASSES,
    QUICK_MODEL,
    ModelConfig,
    Models,
    held_out,
    pretrained_models,
)
from .config import at_least, at_most, require
from .data import ImageSet, load_images, to_pixels
from .device import resolve
from .output import save_figure, save_grid, tile

GRID, SWEEP, CONDITIONING = DEMOS["cfg"].outputs  # the files cards may point at
SHOWN_PER_CLASS = 8  # columns of each panel in guidance_grid.png


@dataclass
class Config(ModelConfig):
    guidance_scales: tuple[float, ...] = field(
        default=(0.0, 1.0, 2.0, 4.0, 7.0), metadata={"help": "the scales of the sweep"}
    )
    samples_per_class: int = field(default=100, metadata={"help": "samples of each digit at each scale"})
    sampling_steps: int = field(default=50, metadata={"help": "DDIM steps per sample"})
    test_images: int = field(default=2000, metadata={"help": "held-out real digits that score the classifier"})
    eta: float = field(default=1.0, metadata={"help": "DDIM's eta: 0 deterministic, 1 as much fresh noise as DDPM"})

    @classmethod
    def quick(cls) -> Config:
        return cls(**QUICK_MODEL, samples_per_class=10, sampling_steps=10, test_images=500)

    def __post_init__(self) -> None:
        super().__post_init__()
        require(len(self.guidance_scales) > 0, "--guidance-scales: give at least one scale")
        for scale in self.guidance_scales:
            require(scale >= 0, f"--guidance-scales {scale:g}: a scale must be at least 0")
        require(
            self.guidance_scale in self.guidance_scales,
            f"--guidance-scale {self.guidance_scale:g}: must be one of --guidance-scales "
            + " ".join(f"{s:g}" for s in self.guidance_scales),
        )
        at_least(self, 2, "samples_per_class")  # diversity needs pairs
        at_least(self, 1, "sampling_steps", "test_images")
        require(0 <= self.eta <= 1, f"--eta {self.eta:g}: must be between 0 and 1")
        at_most(self, "sampling_steps", "num_train_timesteps")


# --- the demo ----------------------------------------------------------------------------------


def run(config: Config, out_dir: Path, progress: Progress) -> Result:
    runtime = resolve(config.device, config.precision, config.compile)

    # 1-2. The class-conditioned UNets (diffusers' and the course's) and the judge: from the cache, or trained now.
    models = pretrained_models(config, runtime, progress, course=True)
    if not runtime.is_main_process:
        return Result()

    # The judge on held-out real digits: its own accuracy, and the real features the samples are compared with.
    progress("score real digits", 0, 1)
    test = held_out(config, runtime, config.test_images)
    test_classes, test_features = classifier.judge(models.classifier, test.floats(slice(None)))
    test_accuracy = classifier.accuracy(test_classes, test.labels)
    wanted = torch.arange(CLASSES, device=runtime.device).repeat_interleave(config.samples_per_class)
    reference = _balanced(
        load_images(config.dataset, config.image_size, 4 * len(wanted), config.seed + 2, runtime.device, split="train"),
        config.samples_per_class,
    )
    _, reference_features = classifier.judge(models.classifier, reference.floats(slice(None)))
    progress("score real digits", 1, 1)

    # 3-4. One sweep: the same noise and labels at every scale; judge each scale's samples.
    scheduler = guidance.ddim_scheduler(models.scheduler, config.sampling_steps)
    size = config.image_size
    noise = guidance.starting_noise(len(wanted), size, runtime.device, config.seed)

    def sample_and_judge(unet: Any, scale: float, stage: str) -> tuple[torch.Tensor, dict[str, Any]]:
        steps_noise = torch.Generator(runtime.device).manual_seed(config.seed + 1)  # the same for every run
        with runtime.autocast():
            x = guidance.sample(
                unet,
                scheduler,
                noise,
                wanted,
                scale,
                eta=config.eta,
                generator=steps_noise,
                progress=progress,
                stage=stage,
            )
        pixels = to_pixels(x)
        predicted, features = classifier.judge(models.classifier, pixels)
        return pixels, {
            "scale": scale,
            "accuracy": classifier.accuracy(predicted, wanted),
            "accuracy_per_class": [
                classifier.accuracy(predicted[wanted == c], wanted[wanted == c]) for c in range(CLASSES)
            ],
            "diversity": _diversity(features, wanted),
            "frechet_distance": classifier.frechet_distance(features, test_features),
        }

    samples: dict[float, torch.Tensor] = {}
    rows = []
    for scale in config.guidance_scales:
        samples[scale], row = sample_and_judge(models.unet, scale, f"sample, scale {scale:g}")
        rows.append(row)

    # 5. The course's conditioning, without guidance (it has no null class), from the same noise.
    assert models.course_unet is not None
    course_samples, course_row = sample_and_judge(models.course_unet, 1.0, "sample course's UNet")
    if 1.0 in samples:
        plain_samples, plain_row = samples[1.0], rows[config.guidance_scales.index(1.0)]
    else:
        plain_samples, plain_row = sample_and_judge(models.unet, 1.0, "sample, scale 1")
    default = next(row for row in rows if row["scale"] == config.guidance_scale)
    comparison = _conditioning_comparison(models, course_row, plain_row, default)
    real = {
        "classifier_test_accuracy": test_accuracy,
        "diversity": _diversity(reference_features, reference.labels),
        "frechet_distance": classifier.frechet_distance(reference_features, test_features),
    }

    # 6. Figures.
    progress("figures", 0, 1)
    shown = {"course": course_samples, "plain": plain_samples, "guided": samples[config.guidance_scale]}
    files = [
        _grid_figure(samples, rows, _balanced(test, SHOWN_PER_CLASS), config, out_dir / GRID),
        _sweep_figure(rows, real, config, out_dir / SWEEP),
        _conditioning_figure(comparison, shown, real, config, out_dir / CONDITIONING),
    ]
    for scale, row in zip(config.guidance_scales, rows, strict=True):
        files.append(
            save_grid(
                _first_per_class(samples[scale], config.samples_per_class, 16),
                out_dir / f"samples_scale_{scale:g}.png",
                f"Guidance scale {scale:g}: rows = digits 0-9, accuracy {row['accuracy']:.0%}",
                columns=min(16, config.samples_per_class),
            )
        )
    progress("figures", 1, 1)

    metrics = {
        "models": models.training,
        "classifier_test_accuracy": test_accuracy,
        "classifier_test_images": len(test),
        "samples_per_scale": len(wanted),
        "sampling_steps": config.sampling_steps,
        "sweep": rows,
        "real_digits": real,
        "default_scale": config.guidance_scale,
        "accuracy_at_default_scale": default["accuracy"],
        "conditioning": comparison,
    }
    summary = [
        f"Judge: {test_accuracy:.1%} on {len(test):,} held-out real digits",
        "scale  accuracy  diversity  Fréchet",
        *(
            f"{r['scale']:>5g}  {r['accuracy']:>8.1%}  {r['diversity']:>9.2f}  {r['frechet_distance']:>7.1f}"
            for r in rows
        ),
        f" real  {test_accuracy:>8.1%}  {real['diversity']:>9.2f}  {real['frechet_distance']:>7.1f}",
        "conditioning                     parameters  final loss  accuracy  Fréchet",
        *(
            f"{c['label']:<32} {c['parameters']:>10,}  {c['final_loss']:>10.4f}  {c['accuracy']:>8.1%}  "
            f"{c['frechet_distance']:>7.1f}"
            for c in comparison["rows"]
        ),
    ]
    return Result(files=files, metrics=metrics, summary=summary)


def _conditioning_comparison(
    models: Models, course: dict[str, Any], plain: dict[str, Any], guided: dict[str, Any]
) -> dict[str, Any]:
    """The course's model against diffusers' `num_class_embeds` one, without and with guidance."""
    course_info, unet_info = models.training["course_unet"], models.training["unet"]
    rows = [
        {"label": "course: embedding concatenated", "model": "course", "guidance_scale": None, **course},
        {"label": "diffusers: num_class_embeds, s = 1", "model": "diffusers", **plain, "guidance_scale": 1.0},
        {
            "label": f"diffusers: num_class_embeds, s = {guided['scale']:g}",
            "model": "diffusers",
            **guided,
            "guidance_scale": guided["scale"],
        },
    ]
    for row in rows:
        info = course_info if row["model"] == "course" else unet_info
        row.pop("scale", None)
        row.update(parameters=info["parameters"], final_loss=info["epoch_losses"][-1])
    return {
        "course": {
            "how": f"nn.Embedding({CLASSES}, {CLASS_EMB_SIZE}) broadcast to every pixel, concatenated to "
            f"the input: UNet2DModel(in_channels=1 + {CLASS_EMB_SIZE})",
            "parameters": course_info["parameters"],
            "epoch_losses": course_info["epoch_losses"],
        },
        "diffusers": {
            "how": f"UNet2DModel(num_class_embeds={CLASSES + 1}): a learned vector per class (the last "
            "the null class) added to the timestep embedding",
            "parameters": unet_info["parameters"],
            "epoch_losses": unet_info["epoch_losses"],
        },
        "rows": rows,
    }


def _diversity(features: torch.Tensor, classes: torch.Tensor) -> float:
    """Mean pairwise feature distance within each class, averaged over the classes."""
    per_class = [classifier.mean_pairwise_distance(features[classes == c]) for c in range(CLASSES)]
    return sum(per_class) / CLASSES


def _balanced(images: ImageSet, per_class: int) -> ImageSet:
    """The first `per_class` images of each digit, ordered by digit."""
    chosen = images.of_classes(range(CLASSES), per_class)
    require(
        len(chosen) == CLASSES * per_class,
        f"not {per_class} images of every digit in {len(images)}; use more --test-images",
    )
    return chosen


def _first_per_class(images: torch.Tensor, per_class: int, shown: int) -> torch.Tensor:
    """From images ordered by class, `per_class` each, the first `shown` of each class."""
    return images.view(CLASSES, per_class, *images.shape[1:])[:, :shown].flatten(0, 1)


def _grid_figure(
    samples: dict[float, torch.Tensor], rows: list[dict[str, Any]], real: ImageSet, config: Config, path: Path
) -> Path:
    import matplotlib.pyplot as plt

    shown = min(SHOWN_PER_CLASS, config.samples_per_class)
    panels = [
        (
            "real, held out",
            real.floats(slice(None)).view(CLASSES, SHOWN_PER_CLASS, 1, *real.images.shape[2:])[:, :shown].flatten(0, 1),
        )
    ]
    for scale, row in zip(config.guidance_scales, rows, strict=True):
        panels.append(
            (
                f"scale {scale:g}\naccuracy {row['accuracy']:.0%}",
                _first_per_class(samples[scale], config.samples_per_class, shown),
            )
        )
    figure, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 3.4))
    for ax, (title, images) in zip(axes, panels, strict=True):
        ax.imshow(tile(images, columns=shown), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_ylabel("digits 0 (top) to 9", fontsize=9)
    figure.suptitle(
        f"Classifier-free guidance: eps = eps_uncond + s (eps_cond - eps_uncond), {config.sampling_steps} "
        f"DDIM steps, the same noise in every panel",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _sweep_figure(rows: list[dict[str, Any]], real: dict[str, float], config: Config, path: Path) -> Path:
    import matplotlib.pyplot as plt

    scales = [row["scale"] for row in rows]
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (
        (
            "accuracy",
            "class accuracy of samples",
            real["classifier_test_accuracy"],
            "judge on real held-out digits",
            100,
        ),
        (
            "diversity",
            "diversity within a class\n(mean pairwise feature distance)",
            real["diversity"],
            "real digits",
            1,
        ),
        (
            "frechet_distance",
            "Fréchet distance to real digits\n(judge's features, lower is closer)",
            real["frechet_distance"],
            "real digits, other scans",
            1,
        ),
    )
    for ax, (key, label, reference, reference_label, factor) in zip(axes, panels, strict=True):
        values = [row[key] * factor for row in rows]
        ax.plot(
            scales,
            values,
            "o-",
            color="tab:blue",
            label="samples (noise counts as variety)" if key == "diversity" else "samples",
        )
        for s, v in zip(scales, values, strict=True):
            ax.annotate(
                f"{v:.0f}%" if factor == 100 else f"{v:.1f}",
                (s, v),
                textcoords="offset points",
                xytext=(0, 7),
                ha="center",
                fontsize=8,
            )
        ax.axhline(reference * factor, color="grey", linestyle="--", label=reference_label)
        if key == "accuracy":
            ax.axhline(100 / CLASSES, color="grey", linestyle=":", label="chance")
            ax.set_ylim(0, 110)
        else:
            ax.set_ylim(0, 1.15 * max(*values, reference * factor))
        ax.set(xlabel="guidance scale s", title=label)
        ax.set_xticks(scales)
        ax.legend(fontsize=8)
    figure.suptitle(
        f"{len(rows)} guidance scales, {config.samples_per_class} samples per digit each; "
        f"judged by a CNN trained on the same digits",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


# The course's figures for its class-conditioned model (MNIST 28x28, batch 128, 10 epochs, cosine schedule).
COURSE_EPOCH_LOSSES = (0.0525, 0.0390)


def _conditioning_figure(
    comparison: dict[str, Any], shown: dict[str, torch.Tensor], real: dict[str, float], config: Config, path: Path
) -> Path:
    import matplotlib.pyplot as plt

    columns = min(SHOWN_PER_CLASS, config.samples_per_class)
    course, plain, guided = comparison["rows"]
    panels = (
        (
            "course",
            (
                f"course: nn.Embedding(10, {CLASS_EMB_SIZE}) broadcast\nto (bs, {CLASS_EMB_SIZE}, H, W), "
                f"concatenated:\nin_channels 1 + {CLASS_EMB_SIZE}, no guidance\n"
                f"accuracy {course['accuracy']:.0%}"
            ),
        ),
        ("plain", f"diffusers: num_class_embeds,\nno guidance (s = 1)\naccuracy {plain['accuracy']:.0%}"),
        (
            "guided",
            (
                f"diffusers: num_class_embeds,\nguided, s = {guided['guidance_scale']:g}"
                f"\naccuracy {guided['accuracy']:.0%}"
            ),
        ),
    )
    figure = plt.figure(figsize=(15, 4.6))
    grid = figure.add_gridspec(1, 5, width_ratios=(1, 1, 1, 1.5, 2.2))
    for column, (key, title) in enumerate(panels):
        ax = figure.add_subplot(grid[0, column])
        ax.imshow(
            tile(_first_per_class(shown[key], config.samples_per_class, columns), columns=columns),
            cmap="gray",
            vmin=0,
            vmax=255,
            interpolation="nearest",
        )
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    figure.axes[0].set_ylabel("digits 0 (top) to 9", fontsize=9)

    losses = figure.add_subplot(grid[0, 3])
    for key, label, color in (
        ("course", "course's conditioning", "tab:orange"),
        ("diffusers", "num_class_embeds (15% null labels)", "tab:blue"),
    ):
        epoch_losses = comparison[key]["epoch_losses"]
        losses.plot(range(1, len(epoch_losses) + 1), epoch_losses, "o-", color=color, label=label)
    losses.plot(
        (1, 10),
        COURSE_EPOCH_LOSSES,
        "s:",
        color="grey",
        label="the course's notebook: MNIST 28x28,\ncosine schedule, batch 128 (other data)",
    )
    losses.set(xlabel="epoch", ylabel="mean MSE(predicted eps, eps)", title="training loss per epoch")
    losses.legend(fontsize=7)

    table = figure.add_subplot(grid[0, 4])
    table.axis("off")
    names = [
        "course's\n(concatenated)",
        "num_class_embeds\ns = 1",
        f"num_class_embeds\ns = {guided['guidance_scale']:g}",
    ]
    cells = [
        [
            name,
            f"{row['parameters']:,}",
            f"{row['final_loss']:.4f}",
            f"{row['accuracy']:.0%}",
            f"{row['frechet_distance']:.1f}",
        ]
        for name, row in zip(names, comparison["rows"], strict=True)
    ]
    cells.append(
        ["real held-out digits", "", "", f"{real['classifier_test_accuracy']:.0%}", f"{real['frechet_distance']:.1f}"]
    )
    drawn = table.table(
        cellText=cells,
        colLabels=["model", "params", "last epoch\nloss", "accuracy", "Fréchet"],
        loc="center",
        cellLoc="center",
        colWidths=[0.32, 0.17, 0.17, 0.17, 0.17],
    )
    drawn.auto_set_font_size(False)
    drawn.set_fontsize(8)
    drawn.scale(1.2, 3.2)
    figure.suptitle(
        f"Two ways to condition a UNet2DModel on the digit: the same data, settings and noise; "
        f"{config.sampling_steps} DDIM steps (eta {config.eta:g}); judged by the classifier",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)
