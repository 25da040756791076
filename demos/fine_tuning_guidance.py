"""fine-tuning-guidance: adapt a trained digit model to a new domain, steer its sampling with a loss,
and set a tiny DiT against the UNet.

1. Models: the class-conditioned `UNet2DModel` (with a null class) and the judging classifier of
   the cfg demo, from the model cache (trained first if missing: the `ModelConfig` options pick
   them, so cfg, ddim-inversion and this demo share them).
2. Fine-tuning (unit 2): a new domain made here, offline, from the same digits: `inverted` (dark
   ink on white) or `rotated` (a quarter turn). The cached model is fine-tuned on it with a lower
   learning rate and gradient accumulation (Accelerate's, `--gradient-accumulation-steps`
   batches per optimizer step), and the same architecture is trained from scratch on the same
   batches with the base model's recipe. After every epoch (and before the first) both sample
   digits of each class (classifier-free guidance at `--guidance-scale`, as every model here is
   judged: both keep learning the null class); the judge scores them once they are mapped back to the digits' domain
   (inverted again, turned back): class accuracy, and the Fréchet distance to real digits in the
   judge's feature space.
3. Guidance by a loss on the predicted x0 (`loss_guidance.py`): unconditional samples (the null
   class) steered at every DDIM step by the gradient of a loss on `pred_original_sample`, unit
   2's loop. Two losses: brightness (each image's mean intensity toward `--brightness-target`)
   and classifier guidance (minus the judge's log-probability of `--guided-digit`). Each is swept
   over the scale and over when it acts: every step, the first (noisiest) half, the second half;
   measured by the loss reached, the judge's accuracy for the digit, and diversity (mean pairwise
   distance in the judge's feature space). The same noise in every run.
4. Going further, DiT against the UNet: a `DiTTransformer2DModel` (patch size 2, width chosen for
   the parameter count nearest the UNet's) and a class-conditioned `UNet2DModel` trained from
   scratch on the digits for the same wall-clock time: the UNet trains `--arch-steps` steps, the
   DiT as many as fit in the seconds that took (its speed measured on a few steps first). Both
   drop a tenth of the labels to a null class. Loss against time, and the judge's accuracy on
   class-conditioned samples of each.

Writes finetune_vs_scratch.png, finetune_samples.png, loss_guidance_grid.png,
loss_guidance_sweep.png, dit_vs_unet.png and the tables in metrics.json. The full preset is sized
for a GPU; the quick one trains small models on 16x16 digits on a CPU, the DiT comparison
included (at a few hundred steps it shows the trend, not the paper's result).
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Literal

import torch

from . import classifier, loss_guidance
from .base import Progress, Result, no_progress
from .conditioning import (
    CLASSES,
    QUICK_MODEL,
    ModelConfig,
    guidance_loss,
    held_out,
    pretrained_models,
)
from .config import at_least, positive, require
from .data import ImageSet, load_images, to_pixels
from .device import Runtime, resolve
from .dit import matching_dit
from .guidance import ddim_scheduler, guide, starting_noise
from .output import save_figure, tile
from .training import Schedule, final_loss, on_device, train
from .unets import make_unet2d, parameters

Domain = Literal["inverted", "rotated"]
WINDOWS = {"every step": (0.0, 1.0), "first half": (0.0, 0.5), "second half": (0.5, 1.0)}
SHOWN = 8  # samples per row in the figures
PROBE_STEPS = 10  # training steps that time the DiT before its real training


@dataclass
class Config(ModelConfig):
    domain: Domain = field(default="inverted", metadata={"help": "the new domain: inverted or rotated digits"})
    finetune_images: int = field(default=30_720, metadata={"help": "new-domain images per fine-tuning epoch"})
    finetune_epochs: int = field(default=4, metadata={"help": "fine-tuning epochs (the judge scores after each)"})
    finetune_learning_rate: float = field(
        default=5e-4, metadata={"help": "Adam's learning rate for fine-tuning (from scratch: --learning-rate)"}
    )
    gradient_accumulation_steps: int = field(default=2, metadata={"help": "batches per optimizer step in fine-tuning"})
    eval_samples_per_class: int = field(default=20, metadata={"help": "samples of each digit the judge scores"})
    sampling_steps: int = field(default=40, metadata={"help": "DDIM steps per sample (unit 2 uses 40)"})
    eta: float = field(default=1.0, metadata={"help": "DDIM's eta: 0 deterministic, 1 as much fresh noise as DDPM"})
    brightness_target: float = field(default=0.3, metadata={"help": "mean pixel value the brightness loss aims at"})
    brightness_scales: tuple[float, ...] = field(
        default=(0.0, 1.0, 3.0, 10.0), metadata={"help": "brightness guidance scales (0: unguided)"}
    )
    guided_digit: int = field(default=3, metadata={"help": "the digit classifier guidance asks for"})
    class_scales: tuple[float, ...] = field(
        default=(0.0, 0.1, 0.3, 1.0, 3.0), metadata={"help": "classifier guidance scales (0: unguided)"}
    )
    guided_samples: int = field(default=64, metadata={"help": "samples per guidance run"})
    through_model: bool = field(
        default=True, metadata={"help": "guidance gradient through the UNet (unit 2's full variant; else its shortcut)"}
    )
    arch_steps: int = field(default=600, metadata={"help": "training steps of the UNet in the DiT comparison"})
    dit_layers: int = field(default=6, metadata={"help": "DiT transformer blocks"})
    dit_heads: int = field(default=4, metadata={"help": "DiT attention heads (its width is set to match the UNet)"})
    dit_learning_rate: float = field(default=1e-3, metadata={"help": "Adam's peak learning rate for the DiT"})

    @classmethod
    def quick(cls) -> Config:
        return cls(
            **QUICK_MODEL,
            finetune_images=768,
            finetune_epochs=3,
            finetune_learning_rate=1e-3,
            eval_samples_per_class=4,
            sampling_steps=10,
            brightness_scales=(0.0, 1.0, 10.0),
            class_scales=(0.0, 0.3, 3.0),
            guided_samples=16,
            arch_steps=80,
            dit_layers=3,
        )

    def __post_init__(self) -> None:
        super().__post_init__()
        at_least(
            self,
            1,
            "finetune_images",
            "finetune_epochs",
            "gradient_accumulation_steps",
            "sampling_steps",
            "arch_steps",
            "dit_layers",
            "dit_heads",
        )
        at_least(self, 2, "eval_samples_per_class", "guided_samples")  # diversity needs pairs
        positive(self, "finetune_learning_rate", "dit_learning_rate")
        require(0 <= self.eta <= 1, f"--eta {self.eta:g}: must be between 0 and 1")
        require(
            0 <= self.brightness_target <= 1,
            f"--brightness-target {self.brightness_target:g}: a pixel value, between 0 and 1",
        )
        require(
            0 <= self.guided_digit < CLASSES, f"--guided-digit {self.guided_digit}: not a digit class (0-{CLASSES - 1})"
        )
        for name in ("brightness_scales", "class_scales"):
            scales = getattr(self, name)
            flag = "--" + name.replace("_", "-")
            require(len(scales) > 0, f"{flag}: give at least one scale")
            for scale in scales:
                require(scale >= 0, f"{flag} {scale:g}: a scale must be at least 0")
        require(
            self.sampling_steps <= self.num_train_timesteps,
            f"--sampling-steps {self.sampling_steps}: at most --num-train-timesteps ({self.num_train_timesteps})",
        )


# --- the new domain --------------------------------------------------------------------------


def to_domain(images: ImageSet, domain: Domain) -> ImageSet:
    """The digits in the new domain (uint8 pixels)."""
    if domain == "inverted":
        return ImageSet(255 - images.images, images.labels, f"{images.name}, inverted")
    return ImageSet(torch.rot90(images.images, 1, dims=(2, 3)), images.labels, f"{images.name}, rotated")


def from_domain(pixels: torch.Tensor, domain: Domain) -> torch.Tensor:
    """Images in [0, 1] from the new domain mapped back to the digits' (what the judge was trained on)."""
    return 1 - pixels if domain == "inverted" else torch.rot90(pixels, -1, dims=(2, 3))


# --- the demo ----------------------------------------------------------------------------------


def run(config: Config, out_dir: Path, progress: Progress) -> Result:
    runtime = resolve(config.device, config.precision, config.compile)
    generator_seed = config.seed + 10

    # 1. The base model and the judge.
    models = pretrained_models(config, runtime, progress)
    judge = models.classifier
    scheduler = ddim_scheduler(models.scheduler, config.sampling_steps)
    test = held_out(config, runtime, max(500, 10 * CLASSES * config.eval_samples_per_class))
    _, real_features = classifier.judge(judge, test.floats(slice(None)))

    def draw(model: Any, labels: torch.Tensor, stage: str | None, **guide: Any) -> torch.Tensor:
        """Samples in [0, 1] for `labels`, from the same noise every time; progress under `stage` (None: none)."""
        noise = starting_noise(len(labels), config.image_size, runtime.device, config.seed)
        steps_noise = torch.Generator(runtime.device).manual_seed(generator_seed)
        with runtime.autocast():
            x = loss_guidance.sample(
                model,
                scheduler,
                noise,
                labels,
                eta=config.eta,
                generator=steps_noise,
                progress=no_progress if stage is None else progress,
                stage=stage or "",
                **guide,
            )
        return to_pixels(x)

    def score(pixels: torch.Tensor, labels: torch.Tensor) -> dict[str, float]:
        predicted, features = classifier.judge(judge, pixels)
        return {
            "accuracy": classifier.accuracy(predicted, labels),
            "frechet_distance": classifier.frechet_distance(features, real_features),
        }

    # 2. Fine-tuning against training from scratch, on the same batches of the new domain.
    finetuning = _finetune(config, models, runtime, progress, draw, score)
    shown = min(4, config.eval_samples_per_class)
    finetuning["real"] = _by_digit(
        to_domain(test.of_classes(range(CLASSES), shown), config.domain).floats(slice(None)), shown
    )

    # 3. Guidance by a loss on the predicted x0.
    guided = _guidance_sweeps(config, models.unet, judge, runtime, draw)

    # 4. DiT against the UNet, for the same training time.
    architectures = _architectures(config, models.scheduler, runtime, progress, draw, score)
    if not runtime.is_main_process:
        return Result()

    # 5. Figures.
    progress("figures", 0, 1)
    files = [
        _finetune_figure(config, finetuning, out_dir / "finetune_vs_scratch.png"),
        _finetune_samples_figure(config, finetuning, out_dir / "finetune_samples.png"),
        _guidance_grid(config, guided, out_dir / "loss_guidance_grid.png"),
        _guidance_sweep(config, guided, out_dir / "loss_guidance_sweep.png"),
        _architecture_figure(config, architectures, out_dir / "dit_vs_unet.png"),
    ]
    progress("figures", 1, 1)

    metrics = {
        "models": models.training,
        "finetuning": {
            key: _table(value) if isinstance(value, dict) else value
            for key, value in finetuning.items()
            if key not in ("samples", "real")
        },
        "guidance": {name: [_table(row) for row in rows] for name, rows in guided.items()},
        "dit_vs_unet": {name: _table(row) for name, row in architectures.items()},
    }
    ft, scratch = finetuning["fine-tuned"], finetuning["from scratch"]
    summary = [
        f"Fine-tuning on {config.domain} digits, judge accuracy after each epoch "
        f"(fine-tuned / from scratch): "
        + ", ".join(f"{a:.0%}/{b:.0%}" for a, b in zip(ft["accuracy"], scratch["accuracy"], strict=True)),
        f"guidance     scale  applied on   loss reached  {config.guided_digit}s  diversity",
        *(
            f"{name:<11} {row['scale']:>6g}  {row['window']:<11} {row['loss_reached']:>13.3f} "
            f"{row['digit_accuracy']:>4.0%} {row['diversity']:>10.2f}"
            for name, rows in guided.items()
            for row in rows
        ),
        *(
            f"{name}: {row['parameters']:,} parameters, {row['steps']} steps in {row['seconds']:.1f} s, "
            f"loss {row['final_loss']:.4f}, judge accuracy {row['accuracy']:.0%}"
            for name, row in architectures.items()
        ),
    ]
    return Result(files=files, metrics=metrics, summary=summary)


class FreeGuided:
    """A class-conditioned model (UNet or DiT, null class `CLASSES`) under classifier-free guidance at `scale`,
    called as the model is: `guided(x, t, class_labels=labels).sample`. How every model here is judged."""

    def __init__(self, model: Any, scale: float):
        self.model, self.scale = model, scale

    def __call__(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor) -> Any:
        null = torch.full_like(class_labels, CLASSES)
        both = self.model(torch.cat([x, x]), torch.cat([t, t]), class_labels=torch.cat([class_labels, null]))
        cond, uncond = both.sample.float().chunk(2)
        return SimpleNamespace(sample=guide(uncond, cond, self.scale))


def _table(row: dict[str, Any]) -> dict[str, Any]:
    """A result row for metrics.json: without the images and the per-step losses (the figures show those)."""
    return {key: value for key, value in row.items() if key not in ("samples", "losses")}


Draw = Callable[..., torch.Tensor]
Score = Callable[[torch.Tensor, torch.Tensor], dict[str, float]]


def _labels(per_class: int, device: torch.device) -> torch.Tensor:
    return torch.arange(CLASSES, device=device).repeat_interleave(per_class)


def _finetune(
    config: Config, models: Any, runtime: Runtime, progress: Progress, draw: Draw, score: Score
) -> dict[str, Any]:
    """Both trainings on the new domain, judged before the first epoch and after each."""
    data = to_domain(
        load_images(
            config.dataset, config.image_size, config.finetune_images, config.seed + 3, runtime.device, split="train"
        ),
        config.domain,
    )
    steps_per_epoch = len(data) // (config.batch_size * runtime.num_processes)
    labels = _labels(config.eval_samples_per_class, runtime.device)
    loss = guidance_loss(models.scheduler, config.label_dropout)
    torch.manual_seed(config.seed + 3)
    scratch = on_device(make_unet2d(config, num_class_embeds=CLASSES + 1), runtime.device)
    starts = {
        "fine-tuned": (
            copy.deepcopy(models.unet),
            Schedule(
                config.finetune_epochs,
                config.batch_size,
                config.finetune_learning_rate,
                "constant",
                0,
                config.gradient_accumulation_steps,
            ),
        ),
        "from scratch": (
            scratch,
            Schedule(
                config.finetune_epochs, config.batch_size, config.learning_rate, config.lr_schedule, config.warmup_steps
            ),
        ),
    }
    names = {"fine-tuned": "fine-tune", "from scratch": "train from scratch"}
    result: dict[str, Any] = {"domain": config.domain, "steps_per_epoch": steps_per_epoch, "samples": {}}
    for name, (model, schedule) in starts.items():
        curve: dict[str, list[float]] = {"step": [], "accuracy": [], "frechet_distance": []}
        shown: list[torch.Tensor] = []

        def evaluate(epoch: int, model: Any, name: str = name, curve: dict = curve, shown: list = shown) -> None:
            # Reported on the training's own progress row: a stage of its own would start a new row each epoch.
            done = epoch * steps_per_epoch
            progress(
                names[name], done, steps_per_epoch * config.finetune_epochs, f"epoch {epoch}: the judge scores samples"
            )
            pixels = draw(FreeGuided(model, config.guidance_scale), labels, None)
            for key, value in score(from_domain(pixels, config.domain), labels).items():
                curve[key].append(value)
            curve["step"].append(epoch * steps_per_epoch)
            shown[:] = [pixels]

        evaluate(0, model.eval())
        before = shown[0]
        model, log = train(
            model, loss, data, schedule, runtime, config.seed, progress, names[name], after_epoch=evaluate
        )
        result[name] = {
            **curve,
            "learning_rate": schedule.learning_rate,
            "gradient_accumulation_steps": schedule.gradient_accumulation_steps,
            "final_loss": final_loss(log),
            "losses": log.losses,
            **log.summary(),
        }
        result["samples"][name] = (before, shown[0])
    return result


def _guidance_sweeps(config: Config, unet: Any, judge: Any, runtime: Runtime, draw: Draw) -> dict[str, list]:
    """Unconditional samples steered by each loss, per scale and window; scale 0 once, unguided."""
    labels = torch.full((config.guided_samples,), CLASSES, device=runtime.device)  # the null class
    judge.requires_grad_(False)
    sweeps = {
        "brightness": (loss_guidance.brightness_loss(config.brightness_target), config.brightness_scales),
        "classifier": (loss_guidance.class_loss(judge, config.guided_digit), config.class_scales),
    }
    unguided: torch.Tensor | None = None
    rows: dict[str, list] = {}
    for name, (loss, scales) in sweeps.items():
        rows[name] = []
        for scale in scales:
            for window_name, window in WINDOWS.items() if scale else [("unguided", (0.0, 1.0))]:
                started = time.perf_counter()
                if scale or unguided is None:
                    pixels = draw(
                        unet,
                        labels,
                        f"{name} guidance, scale {scale:g}, {window_name}",
                        loss=loss,
                        scale=scale,
                        window=window,
                        through_model=config.through_model,
                    )
                    if not scale:
                        unguided = pixels
                else:
                    pixels = unguided
                predicted, features = classifier.judge(judge, pixels)
                with torch.no_grad():
                    reached = loss(pixels * 2 - 1).mean().item()
                rows[name].append(
                    {
                        "scale": scale,
                        "window": window_name,
                        "loss_reached": reached,
                        "brightness": pixels.mean().item(),
                        "digit_accuracy": classifier.accuracy(
                            predicted, torch.full_like(predicted, config.guided_digit)
                        ),
                        "diversity": classifier.mean_pairwise_distance(features),
                        "seconds": time.perf_counter() - started,
                        "samples": pixels,
                    }
                )
    return rows


def _architectures(
    config: Config, training_scheduler: Any, runtime: Runtime, progress: Progress, draw: Draw, score: Score
) -> dict[str, dict[str, Any]]:
    """A UNet2DModel and a DiT of about as many parameters, trained from scratch for the same time."""
    steps = config.arch_steps
    data = load_images(
        config.dataset,
        config.image_size,
        steps * config.batch_size * runtime.num_processes,
        config.seed + 4,
        runtime.device,
        split="train",
    )
    torch.manual_seed(config.seed + 4)
    unet = make_unet2d(config, num_class_embeds=CLASSES + 1)
    dit = matching_dit(parameters(unet), config.image_size, config.dit_layers, config.dit_heads, CLASSES)
    unet_schedule = Schedule(1, config.batch_size, config.learning_rate, config.lr_schedule, config.warmup_steps)
    # The same 10 % label dropout for both: the DiT's embedding drops labels by itself.
    unet_loss, dit_loss = guidance_loss(training_scheduler, 0.1), guidance_loss(training_scheduler, 0.0)
    unet, unet_log = train(unet, unet_loss, data, unet_schedule, runtime, config.seed, progress, "train UNet (vs DiT)")

    # The DiT's speed on a few steps, then as many steps as fit in the UNet's training time.
    probe_data = ImageSet(
        data.images[: PROBE_STEPS * config.batch_size * runtime.num_processes],
        data.labels[: PROBE_STEPS * config.batch_size * runtime.num_processes],
        data.name,
    )
    _, probe = train(
        copy.deepcopy(dit),
        dit_loss,
        probe_data,
        Schedule(1, config.batch_size, config.dit_learning_rate),
        runtime,
        config.seed,
        progress,
        "time DiT",
    )
    per_step = config.batch_size * runtime.num_processes / probe.images_per_second
    dit_steps = _agreed(max(1, round(unet_log.seconds / per_step)), runtime)
    dit_data = load_images(
        config.dataset,
        config.image_size,
        dit_steps * config.batch_size * runtime.num_processes,
        config.seed + 4,
        runtime.device,
        split="train",
    )
    dit_schedule = Schedule(1, config.batch_size, config.dit_learning_rate, config.lr_schedule, config.warmup_steps)
    dit, dit_log = train(dit, dit_loss, dit_data, dit_schedule, runtime, config.seed, progress, "train DiT")

    labels = _labels(config.eval_samples_per_class, runtime.device)
    rows = {}
    for name, model, log in (("UNet2DModel", unet, unet_log), ("DiT", dit, dit_log)):
        pixels = draw(FreeGuided(model, config.guidance_scale), labels, f"sample {name}")
        rows[name] = {
            "parameters": parameters(model),
            "steps": len(log.losses),
            "seconds": log.seconds,
            "final_loss": final_loss(log),
            "losses": log.losses,
            **score(pixels, labels),
            "samples": pixels,
        }
    rows["DiT"]["width"] = dit.config["num_attention_heads"] * dit.config["attention_head_dim"]
    rows["DiT"]["layers"] = dit.config["num_layers"]
    rows["DiT"]["patch_size"] = dit.config["patch_size"]
    return rows


def _agreed(value: int, runtime: Runtime) -> int:
    """The main process's `value` on every process (each timed the DiT on its own)."""
    if runtime.num_processes == 1:
        return value
    # accelerate ships no type information
    from accelerate.utils import broadcast_object_list  # type: ignore[import-untyped]

    return int(broadcast_object_list([value])[0])


# --- figures -----------------------------------------------------------------------------------

COLOURS = {"fine-tuned": "tab:blue", "from scratch": "tab:orange", "UNet2DModel": "tab:blue", "DiT": "tab:green"}


def _smooth(values: list[float]) -> tuple[Any, Any]:
    import numpy as np

    window = max(1, len(values) // 25)
    smooth = np.convolve(np.asarray(values), np.ones(window) / window, mode="valid")
    return np.arange(window, len(values) + 1), smooth


def _finetune_figure(config: Config, result: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(14, 3.8))
    for name in ("fine-tuned", "from scratch"):
        row = result[name]
        steps, smooth = _smooth(row["losses"])
        accumulation = row["gradient_accumulation_steps"]
        label = f"{name} (lr {row['learning_rate']:g}" + (
            f", {accumulation} batches per update)" if accumulation > 1 else ")"
        )
        axes[0].plot(steps, smooth, color=COLOURS[name], label=label)
        axes[1].plot(row["step"], [100 * a for a in row["accuracy"]], "o-", color=COLOURS[name], label=name)
        axes[2].plot(row["step"], row["frechet_distance"], "o-", color=COLOURS[name], label=name)
    axes[0].set(yscale="log", xlabel="training step (batch)", title="training loss (moving mean)")
    axes[1].axhline(100 / CLASSES, color="grey", linestyle=":", label="chance")
    axes[1].set(ylim=(0, 105), xlabel="training step", title="judge: samples of the asked digit (%)")
    axes[2].set(xlabel="training step", title="Fréchet distance to real digits\n(judge's features, lower is closer)")
    for ax in axes:
        ax.legend(fontsize=8)
    figure.suptitle(
        f"Fine-tuning the cached digit UNet on {config.domain} digits against training from scratch, "
        f"the same {result['steps_per_epoch'] * config.finetune_epochs} batches of {config.batch_size}",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _panels(axes: Any, panels: list[tuple[str, torch.Tensor]], columns: int = SHOWN) -> None:
    """One titled grid of images per axis (at most four rows)."""
    # zip(strict=False): a grid row can have more cells than panels; the caller switches the spare ones off
    for ax, (title, images) in zip(axes, panels, strict=False):
        ax.imshow(tile(images[: 4 * columns], columns=columns), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()


def _by_digit(images: torch.Tensor, per_class: int) -> torch.Tensor:
    """Samples ordered digit by digit, `per_class` each, rearranged so that each row holds digits 0-9."""
    return images.view(CLASSES, per_class, *images.shape[1:]).transpose(0, 1).flatten(0, 1)


def _finetune_samples_figure(config: Config, result: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    per_class = config.eval_samples_per_class
    (base, tuned), (_, scratch) = result["samples"]["fine-tuned"], result["samples"]["from scratch"]
    panels = [
        (f"real digits, {config.domain}", result["real"]),
        ("base model, before fine-tuning", _by_digit(base, per_class)),
        (f"fine-tuned: judge {result['fine-tuned']['accuracy'][-1]:.0%}", _by_digit(tuned, per_class)),
        (f"from scratch: judge {result['from scratch']['accuracy'][-1]:.0%}", _by_digit(scratch, per_class)),
    ]
    rows = min(4, per_class)
    figure, axes = plt.subplots(1, len(panels), figsize=(3.2 * len(panels), 0.45 * rows + 1))
    _panels(axes, panels, columns=CLASSES)
    figure.suptitle("Digits 0-9 (columns) asked of each model after the last epoch, in the new domain", fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def _guidance_grid(config: Config, guided: dict[str, list], path: Path) -> Path:
    import matplotlib.pyplot as plt

    rows = [[row for row in guided[name] if row["window"] in ("every step", "unguided")] for name in guided]
    columns = max(len(r) for r in rows)
    figure, axes = plt.subplots(len(rows), columns, figsize=(3.2 * columns, 2.0 * len(rows)), squeeze=False)
    for axes_row, name, runs in zip(axes, guided, rows, strict=True):
        for ax in axes_row[len(runs) :]:
            ax.set_axis_off()
        _panels(
            axes_row,
            [
                (
                    f"{name}, scale {row['scale']:g}\n"
                    + (
                        f"mean {row['brightness']:.2f}"
                        if name == "brightness"
                        else f"{config.guided_digit}s: {row['digit_accuracy']:.0%}"
                    ),
                    row["samples"],
                )
                for row in runs
            ],
        )
    figure.suptitle(
        f"Guidance at every step: x <- x - scale * grad_x L(x0), L scoring the predicted x0 "
        f"(pred_original_sample).\nTop: brightness, L = |mean(x0) - {config.brightness_target:g}|; "
        f"bottom: classifier guidance, L = -log p_judge({config.guided_digit} | x0). "
        "One unguided model, the same noise",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _guidance_sweep(config: Config, guided: dict[str, list], path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(2, 3, figsize=(14, 7))
    measures = (
        ("loss_reached", "loss reached (mean per image)"),
        ("digit_accuracy", f"judge: share of {config.guided_digit}s"),
        ("diversity", "diversity (mean pairwise feature distance)"),
    )
    for axes_row, name in zip(axes, guided, strict=True):
        rows = guided[name]
        unguided = [row for row in rows if row["window"] == "unguided"]  # the start of every line
        for window in WINDOWS:
            points = unguided + [row for row in rows if row["window"] == window]
            for ax, (key, title) in zip(axes_row, measures, strict=True):
                ax.plot([row["scale"] for row in points], [row[key] for row in points], "o-", label=window)
                ax.set(xlabel=f"{name} guidance scale", title=f"{name}: {title}")
        axes_row[0].set_yscale("symlog", linthresh=0.01)
        for ax in axes_row:
            ax.legend(fontsize=8, title="applied on", title_fontsize=8)
    figure.suptitle(
        f"{config.guided_samples} unconditional samples per run, {config.sampling_steps} DDIM steps, "
        "the same noise in every run",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _architecture_figure(config: Config, rows: dict[str, dict[str, Any]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 3, figsize=(14, 3.8), gridspec_kw={"width_ratios": [1.4, 1, 1]})
    for name, row in rows.items():
        steps, smooth = _smooth(row["losses"])
        axes[0].plot(
            steps * row["seconds"] / row["steps"],
            smooth,
            color=COLOURS[name],
            label=f"{name}: {row['parameters']:,} parameters, {row['steps']} steps",
        )
    axes[0].set(yscale="log", xlabel="training time (s)", title="training loss (moving mean)")
    axes[0].legend(fontsize=8)
    dit = rows["DiT"]
    _panels(
        axes[1:],
        [
            (
                f"{name}: judge accuracy {row['accuracy']:.0%}\nloss {row['final_loss']:.4f}",
                _by_digit(row["samples"], config.eval_samples_per_class),
            )
            for name, row in rows.items()
        ],
        columns=CLASSES,
    )
    tokens = (config.image_size // dit["patch_size"]) ** 2
    figure.suptitle(
        f"DiTTransformer2DModel ({dit['layers']} blocks, width {dit['width']}, "
        f"{dit['patch_size']}x{dit['patch_size']} patches: {tokens} tokens per {config.image_size}x"
        f"{config.image_size} image) against a UNet2DModel, trained from scratch for the same time.\n"
        "Both conditioned on class labels; samples of digits 0-9 (columns)",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)
