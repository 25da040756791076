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

Writes guidance_grid.png (real digits, then one panel per scale: rows = classes, the same noise
in every panel), guidance_sweep.png (accuracy, diversity and Fréchet distance against the scale)
and a larger grid per scale. Both trained models go to the model cache, where ddim-inversion
finds them (`pretrained_models`, shared by both demos: the `ModelConfig` fields are the keys).

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

import dataclasses
import functools
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch

from . import cache, classifier, guidance
from .base import Progress, Result
from .config import at_least, at_most, halvable, positive, require, unet_widths
from .data import DatasetName, ImageSet, load_images, to_pixels
from .device import CompileRequest, DeviceRequest, PrecisionRequest, Runtime, resolve
from .output import save_figure, save_grid, tile
from .training import LossFn, Schedule, TrainLog, train

if TYPE_CHECKING:
    from diffusers import DDPMPipeline, DDPMScheduler
from .unet_training import make_scheduler, make_unet2d, noise_loss, parameters

CLASSES = 10
UNET_KIND, CLASSIFIER_KIND = "cfg-unet", "digit-classifier"
CLASSIFIER_LR = 2e-3
SHOWN_PER_CLASS = 8  # columns of each panel in guidance_grid.png


@dataclass
class ModelConfig:
    """What both guidance demos share: the trained models (their cache key) and how to run them."""

    dataset: DatasetName = field(default="digits", metadata={"help": "training images: digits (built in) or mnist"})
    image_size: int = field(default=28, metadata={"help": "pixels per side"})
    train_images: int = field(default=60_000, metadata={"help": "training images per epoch (from the train split)"})
    epochs: int = field(default=5, metadata={"help": "passes of the UNet over the training images"})
    batch_size: int = field(default=512, metadata={"help": "images per step and process"})
    learning_rate: float = field(default=2e-3, metadata={"help": "Adam's peak learning rate for the UNet"})
    lr_schedule: Literal["constant", "cosine"] = field(default="cosine", metadata={"help": "after the warm-up"})
    warmup_steps: int = field(default=50, metadata={"help": "optimizer steps with a rising learning rate"})
    unet_channels: tuple[int, ...] = field(default=(32, 64, 64), metadata={"help": "UNet block widths (multiples of 8)"})
    layers_per_block: int = field(default=2, metadata={"help": "ResNet layers per UNet block"})
    attention: bool = field(default=True, metadata={"help": "self-attention in all but the first UNet block"})
    label_dropout: float = field(default=0.15, metadata={"help": "share of training labels replaced by the null class"})
    beta_schedule: Literal["linear", "squaredcos_cap_v2"] = field(
        default="linear", metadata={"help": "DDPM noise schedule (squaredcos_cap_v2 = cosine)"}
    )
    num_train_timesteps: int = field(default=1000, metadata={"help": "DDPM steps T"})
    classifier_epochs: int = field(default=4, metadata={"help": "passes of the judging classifier over the images"})
    guidance_scale: float = field(
        default=4.0, metadata={"help": "guidance scale of cfg's headline figures and of ddim-inversion's edit"}
    )
    retrain: bool = field(default=False, metadata={"help": "train again even if the model cache has these models"})
    device: DeviceRequest = field(default="auto", metadata={"help": "auto: CUDA, then MPS, then CPU"})
    precision: PrecisionRequest = field(default="auto", metadata={"help": "auto: bf16 autocast on CUDA, else fp32"})
    # Compiling costs more than it saves for a training run of this size (seconds on a GPU).
    compile: CompileRequest = field(default="off", metadata={"help": "torch.compile the models for training"})
    seed: int = field(default=0, metadata={"help": "seed for data, initial weights and sampling noise"})

    def __post_init__(self) -> None:
        at_least(self, 1, "train_images", "epochs", "batch_size", "layers_per_block", "num_train_timesteps",
                 "classifier_epochs")
        at_least(self, 0, "warmup_steps", "guidance_scale")
        positive(self, "learning_rate")
        require(0 < self.label_dropout < 1,
                f"--label-dropout {self.label_dropout}: must be between 0 and 1 (the null class must be trained)")
        unet_widths(self.unet_channels)
        halvable(self.image_size, len(self.unet_channels) - 1)


# The quick preset's models: 16x16 digits, a narrow UNet with attention only in its middle block
# (three times faster on a CPU).
QUICK_MODEL: dict[str, Any] = dict(
    image_size=16, train_images=3_072, epochs=4, batch_size=32, learning_rate=4e-3, warmup_steps=10,
    unet_channels=(16, 32, 32), layers_per_block=1, attention=False, classifier_epochs=3,
)
RUN_ONLY = {"device", "compile", "retrain", "guidance_scale"}  # not part of the cache keys
JUDGE_SETTINGS = ("dataset", "image_size", "train_images", "batch_size", "classifier_epochs", "precision", "seed")


def unet_settings(config: ModelConfig) -> dict[str, Any]:
    """The settings that decide the UNet's trained weights: its cache key."""
    return {f.name: getattr(config, f.name) for f in dataclasses.fields(ModelConfig)
            if f.name not in RUN_ONLY and f.name != "classifier_epochs"}


def judge_settings(config: ModelConfig) -> dict[str, Any]:
    """The settings that decide the classifier's trained weights: its cache key."""
    return {name: getattr(config, name) for name in JUDGE_SETTINGS}


@dataclass
class Config(ModelConfig):
    guidance_scales: tuple[float, ...] = field(default=(0.0, 1.0, 2.0, 4.0, 7.0), metadata={"help": "the scales of the sweep"})
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
        require(self.guidance_scale in self.guidance_scales,
                f"--guidance-scale {self.guidance_scale:g}: must be one of --guidance-scales "
                + " ".join(f"{s:g}" for s in self.guidance_scales))
        at_least(self, 2, "samples_per_class")  # diversity needs pairs
        at_least(self, 1, "sampling_steps", "test_images")
        require(0 <= self.eta <= 1, f"--eta {self.eta:g}: must be between 0 and 1")
        at_most(self, "sampling_steps", "num_train_timesteps")


# --- the models, trained once and cached -------------------------------------------------------

@dataclass
class Models:
    unet: Any  # UNet2DModel, num_class_embeds = CLASSES + 1 (the last is the null class), on the device
    scheduler: Any  # the DDPMScheduler it was trained with (DDIM schedulers are built from its config)
    classifier: classifier.DigitClassifier
    training: dict[str, Any]  # per model: where it is cached, whether this run trained it, its training figures


def guidance_loss(scheduler: DDPMScheduler, label_dropout: float) -> LossFn:
    """The noise-prediction objective with labels, a share of them dropped to the null class."""
    plain = noise_loss(scheduler)

    def loss(model: Any, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        dropped = torch.rand(len(labels), generator=generator, device=labels.device) < label_dropout
        conditioned = functools.partial(model, class_labels=labels.masked_fill(dropped, CLASSES))
        return plain(conditioned, images, labels, generator)

    return loss


def train_unet(config: ModelConfig, data: ImageSet, runtime: Runtime, progress: Progress) -> tuple[DDPMPipeline, TrainLog]:
    """The class-conditioned UNet; returns (DDPMPipeline, TrainLog)."""
    from diffusers import DDPMPipeline

    torch.manual_seed(config.seed)
    scheduler = make_scheduler(config)
    unet = make_unet2d(config, num_class_embeds=CLASSES + 1, attention=config.attention)
    unet, log = train(unet, guidance_loss(scheduler, config.label_dropout), data, Schedule.of(config), runtime,
                      config.seed, progress, "train UNet")
    return DDPMPipeline(unet=unet, scheduler=scheduler), log


def train_judge(
    config: ModelConfig, data: ImageSet, runtime: Runtime, progress: Progress
) -> tuple[classifier.DigitClassifier, TrainLog]:
    """The digit classifier that judges samples; returns (DigitClassifier, TrainLog)."""
    schedule = Schedule(config.classifier_epochs, config.batch_size, CLASSIFIER_LR, "cosine")
    return classifier.train_classifier(data, schedule, runtime, config.seed, progress)


def pretrained_models(config: ModelConfig, runtime: Runtime, progress: Progress) -> Models:
    """The guided UNet and its judge for `config`, from the model cache, each trained first if it is
    not there (or `config.retrain`). Both demos get their models here."""
    from diffusers import DDPMPipeline

    @functools.cache
    def data() -> ImageSet:
        progress("load data", 0, 1)
        images = load_images(config.dataset, config.image_size, config.train_images, config.seed, runtime.device,
                             split="train")
        progress("load data", 1, 1)
        return images

    def get_or_train(kind: str, settings: dict[str, Any], trainer: Any, loader: Any) -> tuple[Any, dict[str, Any]]:
        entry = cache.entry(kind, settings)
        if entry.exists() and not config.retrain:
            return entry.load(loader), {"cache": str(entry.path), "trained_now": False, **entry.info()["metrics"]}
        model, log = trainer(config, data(), runtime, progress)
        if runtime.is_main_process:
            entry.store(model, log.summary())
        return model, {"cache": str(entry.path), "trained_now": True, **log.summary()}

    pipeline, unet_info = get_or_train(UNET_KIND, unet_settings(config), train_unet, DDPMPipeline)
    judge, judge_info = get_or_train(CLASSIFIER_KIND, judge_settings(config), train_judge, classifier.DigitClassifier)
    unet = pipeline.unet.to(runtime.device).eval()
    unet_info["parameters"] = parameters(unet)
    return Models(unet, pipeline.scheduler, judge.to(runtime.device).eval(),
                  {"unet": unet_info, "classifier": judge_info})


def held_out(config: ModelConfig, runtime: Runtime, count: int) -> ImageSet:
    """Real digits from the test split: neither model has seen these handwritten scans."""
    return load_images(config.dataset, config.image_size, count, config.seed + 1,
                       runtime.device, split="test")



# --- the demo ----------------------------------------------------------------------------------

def run(config: Config, out_dir: Path, progress: Progress) -> Result:
    runtime = resolve(config.device, config.precision, config.compile)

    # 1-2. The class-conditioned UNet and the judge: from the cache, or trained now.
    models = pretrained_models(config, runtime, progress)
    if not runtime.is_main_process:
        return Result()

    # The judge on held-out real digits: its own accuracy, and the real features the samples are compared with.
    progress("score real digits", 0, 1)
    test = held_out(config, runtime, config.test_images)
    test_classes, test_features = classifier.judge(models.classifier, test.floats(slice(None)))
    test_accuracy = classifier.accuracy(test_classes, test.labels)
    wanted = torch.arange(CLASSES, device=runtime.device).repeat_interleave(config.samples_per_class)
    reference = _balanced(load_images(config.dataset, config.image_size, 4 * len(wanted), config.seed + 2,
                                      runtime.device, split="train"), config.samples_per_class)
    _, reference_features = classifier.judge(models.classifier, reference.floats(slice(None)))
    progress("score real digits", 1, 1)

    # 3-4. One sweep: the same noise and labels at every scale; judge each scale's samples.
    scheduler = guidance.ddim_scheduler(models.scheduler, config.sampling_steps)
    size = config.image_size
    noise = torch.randn(len(wanted), 1, size, size, device=runtime.device,
                        generator=torch.Generator(runtime.device).manual_seed(config.seed))
    samples: dict[float, torch.Tensor] = {}
    rows = []
    for scale in config.guidance_scales:
        steps_noise = torch.Generator(runtime.device).manual_seed(config.seed + 1)  # the same for every scale
        with runtime.autocast():
            x = guidance.sample(models.unet, scheduler, noise, wanted, scale, eta=config.eta, generator=steps_noise,
                                progress=progress, stage=f"sample, scale {scale:g}")
        samples[scale] = to_pixels(x)
        predicted, features = classifier.judge(models.classifier, samples[scale])
        rows.append({
            "scale": scale,
            "accuracy": classifier.accuracy(predicted, wanted),
            "accuracy_per_class": [classifier.accuracy(predicted[wanted == c], wanted[wanted == c])
                                   for c in range(CLASSES)],
            "diversity": _diversity(features, wanted),
            "frechet_distance": classifier.frechet_distance(features, test_features),
        })
    real = {
        "classifier_test_accuracy": test_accuracy,
        "diversity": _diversity(reference_features, reference.labels),
        "frechet_distance": classifier.frechet_distance(reference_features, test_features),
    }

    # 5. Figures.
    progress("figures", 0, 1)
    files = [
        _grid_figure(samples, rows, _balanced(test, SHOWN_PER_CLASS), config, out_dir / "guidance_grid.png"),
        _sweep_figure(rows, real, config, out_dir / "guidance_sweep.png"),
    ]
    for scale, row in zip(config.guidance_scales, rows):
        files.append(save_grid(_first_per_class(samples[scale], config.samples_per_class, 16),
                               out_dir / f"samples_scale_{scale:g}.png",
                               f"Guidance scale {scale:g}: rows = digits 0-9, accuracy {row['accuracy']:.0%}",
                               columns=min(16, config.samples_per_class)))
    progress("figures", 1, 1)

    default = next(row for row in rows if row["scale"] == config.guidance_scale)
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
    }
    summary = [
        f"Judge: {test_accuracy:.1%} on {len(test):,} held-out real digits",
        "scale  accuracy  diversity  Fréchet",
        *(f"{r['scale']:>5g}  {r['accuracy']:>8.1%}  {r['diversity']:>9.2f}  {r['frechet_distance']:>7.1f}" for r in rows),
        f" real  {test_accuracy:>8.1%}  {real['diversity']:>9.2f}  {real['frechet_distance']:>7.1f}",
    ]
    return Result(files=files, metrics=metrics, summary=summary)


def _diversity(features: torch.Tensor, classes: torch.Tensor) -> float:
    """Mean pairwise feature distance within each class, averaged over the classes."""
    per_class = [classifier.mean_pairwise_distance(features[classes == c]) for c in range(CLASSES)]
    return sum(per_class) / CLASSES


def _balanced(images: ImageSet, per_class: int) -> ImageSet:
    """The first `per_class` images of each digit, ordered by digit."""
    chosen = images.of_classes(range(CLASSES), per_class)
    require(len(chosen) == CLASSES * per_class, f"not {per_class} images of every digit in {len(images)}; "
            "use more --test-images")
    return chosen


def _first_per_class(images: torch.Tensor, per_class: int, shown: int) -> torch.Tensor:
    """From images ordered by class, `per_class` each, the first `shown` of each class."""
    return images.view(CLASSES, per_class, *images.shape[1:])[:, :shown].flatten(0, 1)


def _grid_figure(samples: dict[float, torch.Tensor], rows: list[dict[str, Any]], real: ImageSet,
                 config: Config, path: Path) -> Path:
    import matplotlib.pyplot as plt

    shown = min(SHOWN_PER_CLASS, config.samples_per_class)
    panels = [("real, held out", real.floats(slice(None)).view(CLASSES, SHOWN_PER_CLASS, 1, *real.images.shape[2:])
               [:, :shown].flatten(0, 1))]
    for scale, row in zip(config.guidance_scales, rows):
        panels.append((f"scale {scale:g}\naccuracy {row['accuracy']:.0%}",
                       _first_per_class(samples[scale], config.samples_per_class, shown)))
    figure, axes = plt.subplots(1, len(panels), figsize=(2.2 * len(panels), 3.4))
    for ax, (title, images) in zip(axes, panels):
        ax.imshow(tile(images, columns=shown), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([])
        ax.set_yticks([])
    axes[0].set_ylabel("digits 0 (top) to 9", fontsize=9)
    figure.suptitle(f"Classifier-free guidance: eps = eps_uncond + s (eps_cond - eps_uncond), {config.sampling_steps} "
                    f"DDIM steps, the same noise in every panel", fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def _sweep_figure(rows: list[dict[str, Any]], real: dict[str, float], config: Config, path: Path) -> Path:
    import matplotlib.pyplot as plt

    scales = [row["scale"] for row in rows]
    figure, axes = plt.subplots(1, 3, figsize=(13, 3.8))
    panels = (
        ("accuracy", "class accuracy of samples", real["classifier_test_accuracy"], "judge on real held-out digits", 100),
        ("diversity", "diversity within a class\n(mean pairwise feature distance)", real["diversity"],
         "real digits", 1),
        ("frechet_distance", "Fréchet distance to real digits\n(judge's features, lower is closer)",
         real["frechet_distance"], "real digits, other scans", 1),
    )
    for ax, (key, label, reference, reference_label, factor) in zip(axes, panels):
        values = [row[key] * factor for row in rows]
        ax.plot(scales, values, "o-", color="tab:blue",
                label="samples (noise counts as variety)" if key == "diversity" else "samples")
        for s, v in zip(scales, values):
            ax.annotate(f"{v:.0f}%" if factor == 100 else f"{v:.1f}", (s, v), textcoords="offset points",
                        xytext=(0, 7), ha="center", fontsize=8)
        ax.axhline(reference * factor, color="grey", linestyle="--", label=reference_label)
        if key == "accuracy":
            ax.axhline(100 / CLASSES, color="grey", linestyle=":", label="chance")
            ax.set_ylim(0, 110)
        else:
            ax.set_ylim(0, 1.15 * max(*values, reference * factor))
        ax.set(xlabel="guidance scale s", title=label)
        ax.set_xticks(scales)
        ax.legend(fontsize=8)
    figure.suptitle(f"{len(rows)} guidance scales, {config.samples_per_class} samples per digit each; "
                    f"judged by a CNN trained on the same digits", fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)
