"""ddim-inversion: turn real digits back into noise with DDIM, rebuild them, and edit them.

1. Models: the class-conditioned UNet and the judging classifier of the cfg demo, from the model
   cache (trained first if they are not there: the `ModelConfig` options pick them).
2. Reconstruction: held-out real digits x_0 (never seen in training) are inverted to x_T with
   `DDIMInverseScheduler` in n steps, then sampled back with `DDIMScheduler` in the same n steps.
   Both use the conditional prediction (guidance scale 1) under the digit's own label, in full
   precision (bf16 rounding would add its own error). Why the round trip is not exact: each
   inverse step from x_{t-1} to x_t has to use the noise predicted at x_{t-1}, while the sampler
   uses the one at x_t; the smaller the steps, the smaller that mismatch. MSE and PSNR (pixels in
   [0, 1]) for each n.
3. Edit: digits of class `edit_from` are taken to a middle step k of `sampling_steps` and sampled
   the rest of the way under class `edit_to` with guidance scale `guidance_scale`, in two ways:
   - inversion: k inverse DDIM steps under the source class (scale 1), so the starting point
     encodes this very image;
   - img2img (the baseline): `add_noise` at the same timestep with fresh Gaussian noise.
   For each k: how much of the source each keeps (pixel MSE to the source) and whether the edit
   took (share the judge calls `edit_to`). The deeper the start, the more both change.

4. Samplers: what inversion relies on, that DDIM at eta 0 is a deterministic map from noise to
   image, measured next to the other samplers a diffusers pipeline can swap in. From the same noise
   and labels (the conditional prediction, scale 1, so that only the sampler differs): DDPM with all
   `num_train_timesteps` steps, DDIM with `sampler_steps` steps at eta 0 and eta 1, and
   `DPMSolverMultistepScheduler` with the same step counts; each judged (class accuracy, Fréchet
   distance to held-out digits in the judge's features) and timed. Then DDIM at eta 0 and at eta 1
   run twice from the same noise, each time with other step noise: at eta 0 the two runs agree to
   the last bit (max difference 0), at eta 1 they differ. (Here rather than in cfg: the samplers are
   the sampling half of what this demo inverts, and cfg's quick run already trains two UNets.)

Writes reconstruction_vs_steps.png (examples and the error curves), edit_comparison.png (the
edited digits of both methods and their keep-or-change trade-off), samplers.png (samples and
accuracy, Fréchet distance and seconds per sampler), same_noise.png (the two runs at each eta and
their difference) and the tables in metrics.json.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from . import DEMOS, classifier, guidance
from .base import Progress, Result
from .conditioning import CLASSES, QUICK_MODEL, ModelConfig, held_out, pretrained_models
from .config import at_least, require
from .data import ImageSet, to_pixels
from .device import resolve
from .output import save_figure, tile

RECONSTRUCTION, EDIT, SAMPLERS, SAME_NOISE = DEMOS["ddim-inversion"].outputs  # the files cards may point at
SHOWN = 8  # example digits per row in the figures
INVERSION_SCALE = 1.0  # inversion, reconstruction and the sampler comparison use the plain conditional prediction


@dataclass
class Config(ModelConfig):
    inversion_steps: tuple[int, ...] = field(
        default=(10, 25, 50, 100, 250), metadata={"help": "DDIM step counts to invert and reconstruct with"}
    )
    inversion_images: int = field(default=256, metadata={"help": "held-out digits inverted at each step count"})
    sampling_steps: int = field(default=50, metadata={"help": "DDIM steps of a whole edit trajectory"})
    edit_steps: tuple[int, ...] = field(
        default=(20, 30, 40), metadata={"help": "steps into the noise where edits start (of --sampling-steps)"}
    )
    edit_from: int = field(default=3, metadata={"help": "the digit that is edited"})
    edit_to: int = field(default=8, metadata={"help": "the digit it is edited into"})
    edit_images: int = field(default=64, metadata={"help": "digits edited at each step"})
    sampler_steps: tuple[int, ...] = field(
        default=(10, 25, 50), metadata={"help": "DDIM and DPM-Solver step counts compared with DDPM's all-steps run"}
    )
    sampler_samples_per_class: int = field(default=50, metadata={"help": "samples of each digit per sampler"})
    test_images: int = field(default=2000, metadata={"help": "held-out digits the samples' Fréchet distance uses"})

    @classmethod
    def quick(cls) -> Config:
        # DDPM's 1000 steps dominate the sampler comparison: one sample per digit keeps it to seconds.
        return cls(
            **QUICK_MODEL,
            inversion_steps=(5, 10, 25, 50, 100),
            inversion_images=16,
            sampling_steps=20,
            edit_steps=(8, 12, 16),
            edit_images=16,
            sampler_samples_per_class=1,
            test_images=500,
        )

    def __post_init__(self) -> None:
        super().__post_init__()
        require(len(self.inversion_steps) > 0, "--inversion-steps: give at least one step count")
        for steps in self.inversion_steps:
            require(steps >= 1, f"--inversion-steps {steps}: must be at least 1")
            self._divides(steps, "--inversion-steps")
        at_least(self, 1, "inversion_images", "sampling_steps", "edit_images")
        self._divides(self.sampling_steps, "--sampling-steps")
        require(len(self.edit_steps) > 0, "--edit-steps: give at least one step")
        for step in self.edit_steps:
            require(
                1 <= step <= self.sampling_steps,
                f"--edit-steps {step}: must be between 1 and --sampling-steps ({self.sampling_steps})",
            )
        for name in ("edit_from", "edit_to"):
            value = getattr(self, name)
            require(0 <= value < CLASSES, f"--{name.replace('_', '-')} {value}: not a digit class (0-{CLASSES - 1})")
        require(self.edit_from != self.edit_to, f"--edit-to {self.edit_to}: the same digit as --edit-from")
        require(len(self.sampler_steps) > 0, "--sampler-steps: give at least one step count")
        for steps in self.sampler_steps:
            require(
                1 <= steps <= self.num_train_timesteps,
                f"--sampler-steps {steps}: must be between 1 and --num-train-timesteps ({self.num_train_timesteps})",
            )
        at_least(self, 1, "sampler_samples_per_class")
        at_least(self, 2, "test_images")  # a Fréchet distance needs a covariance

    def _divides(self, steps: int, option: str) -> None:
        # DDIM steps T // n timesteps at a time: other counts leave the inverse and forward paths apart.
        require(
            steps <= self.num_train_timesteps and self.num_train_timesteps % steps == 0,
            f"{option} {steps}: must divide --num-train-timesteps ({self.num_train_timesteps})",
        )


def psnr(reconstruction: torch.Tensor, original: torch.Tensor) -> torch.Tensor:
    """Peak signal-to-noise ratio per image, pixels in [0, 1]: 10 log10(1 / MSE)."""
    mse = (reconstruction - original).square().flatten(1).mean(1)
    return 10 * torch.log10(1 / mse.clamp(min=1e-10))


def run(config: Config, out_dir: Path, progress: Progress) -> Result:
    runtime = resolve(config.device, config.precision, config.compile)

    # 1. The models of the cfg demo.
    models = pretrained_models(config, runtime, progress)
    if not runtime.is_main_process:
        return Result()
    unet, judge = models.unet, models.classifier

    # 2. Reconstruction error against the number of steps, in fp32.
    originals = held_out(config, runtime, config.inversion_images)
    x0 = originals.floats(slice(None)) * 2 - 1
    table, examples = [], []
    for steps in config.inversion_steps:
        stage = f"invert + rebuild, {steps} steps"
        started = time.perf_counter()
        forward = guidance.ddim_scheduler(models.scheduler, steps, clip=False)
        inverse = guidance.ddim_inverse_scheduler(models.scheduler, steps)
        xT = guidance.invert(unet, inverse, x0, originals.labels, INVERSION_SCALE, progress=progress, stage=stage)
        rebuilt = to_pixels(
            guidance.sample(unet, forward, xT, originals.labels, INVERSION_SCALE, progress=progress, stage=stage)
        )
        pixels = to_pixels(x0)
        table.append(
            {
                "steps": steps,
                "mse": (rebuilt - pixels).square().mean().item(),
                "psnr": psnr(rebuilt, pixels).mean().item(),
                "noise_std": xT.std().item(),  # an inversion that reaches noise has std ≈ 1
                "seconds": time.perf_counter() - started,
            }
        )
        examples.append(rebuilt[:SHOWN])

    # 3. The edit, both ways, from each start step.
    sources = _of_class(
        held_out(config, runtime, 4 * CLASSES * config.edit_images), config.edit_from, config.edit_images
    )
    edits, edited = _edit(config, models, sources, runtime, progress)
    source_class_now, _ = classifier.judge(judge, sources.floats(slice(None)))

    # 4. Samplers from the same noise, and DDIM's determinism.
    samplers, same_noise = compare_samplers(config, models, runtime, progress)

    # 5. Figures.
    progress("figures", 0, 1)
    files = [
        _reconstruction_figure(table, to_pixels(x0[:SHOWN]), examples, out_dir / RECONSTRUCTION),
        _edit_figure(config, edits, sources.floats(slice(0, SHOWN)), edited, out_dir / EDIT),
        _samplers_figure(config, samplers, out_dir / SAMPLERS),
        _same_noise_figure(config, same_noise, out_dir / SAME_NOISE),
    ]
    progress("figures", 1, 1)

    metrics = {
        "models": models.training,
        "reconstruction": table,
        "inversion_images": len(originals),
        "edit": {
            "from": config.edit_from,
            "to": config.edit_to,
            "images": len(sources),
            "sampling_steps": config.sampling_steps,
            "guidance_scale": config.guidance_scale,
            "inversion_guidance_scale": INVERSION_SCALE,
            "sources_judged_as_source_class": classifier.accuracy(source_class_now, sources.labels),
            "by_start_step": edits,
        },
        "samplers": {
            "samples": samplers["samples"],
            "guidance_scale": INVERSION_SCALE,
            "real_digits": samplers["real"],
            "by_sampler": samplers["rows"],
        },
        "same_noise": {f"eta_{eta:g}_max_difference": run["max_difference"] for eta, run in same_noise.items()},
    }
    summary = [
        "steps      MSE   PSNR dB",
        *(f"{r['steps']:>5}  {r['mse']:.2e}  {r['psnr']:7.2f}" for r in table),
        f"edit {config.edit_from} -> {config.edit_to}: start step, then per method MSE to source / "
        f"judged {config.edit_to}",
    ]
    for row in edits:
        summary.append(
            f"  {row['start_step']:>3} of {config.sampling_steps} (t = {row['timestep']}): "
            + ", ".join(
                f"{m} {row[m]['mse_to_source']:.4f} / {row[m]['target_accuracy']:.0%}" for m in ("inversion", "img2img")
            )
        )
    summary.append("sampler              steps  accuracy  Fréchet  seconds")
    summary.extend(
        f"  {r['sampler']:<18} {r['steps']:>5}  {r['accuracy']:>8.0%}  {r['frechet_distance']:>7.1f}  "
        f"{r['seconds']:>7.2f}"
        for r in samplers["rows"]
    )
    summary.append(
        "same noise, other step noise: max difference "
        + ", ".join(f"eta {eta:g} {run['max_difference']:.3g}" for eta, run in same_noise.items())
    )
    return Result(files=files, metrics=metrics, summary=summary)


def compare_samplers(
    config: Config, models: Any, runtime: Any, progress: Progress
) -> tuple[dict[str, Any], dict[float, dict[str, Any]]]:
    """Every sampler from the same noise and labels: samples, accuracy, Fréchet distance, seconds. Then
    DDIM with the most steps at eta 0 and 1, run again from that noise with other step noise."""
    wanted = torch.arange(CLASSES, device=runtime.device).repeat_interleave(config.sampler_samples_per_class)
    size = config.image_size
    noise = guidance.starting_noise(len(wanted), size, runtime.device, config.seed)
    # Held-out digits: `test_images` to compare with, and as many as there are samples to show what real ones score.
    test = held_out(config, runtime, config.test_images + len(wanted))
    test_classes, test_features = classifier.judge(models.classifier, test.floats(slice(None)))
    real_features, test_features = test_features[config.test_images :], test_features[: config.test_images]

    def run(kind: guidance.SamplerKind, steps: int, eta: float = 0.0, seed: int = config.seed + 1) -> torch.Tensor:
        scheduler = guidance.sampler(kind, models.scheduler, steps)
        with runtime.autocast():
            x = guidance.sample(
                models.unet,
                scheduler,
                noise,
                wanted,
                INVERSION_SCALE,
                eta=eta,
                generator=torch.Generator(runtime.device).manual_seed(seed),
                progress=progress,
                stage=f"sample: {kind}, {steps} steps" + (f", eta {eta:g}" if kind == "ddim" else ""),
            )
        return to_pixels(x)

    plan: list[tuple[str, guidance.SamplerKind, int, float]] = [
        ("DDPM (all steps)", "ddpm", config.num_train_timesteps, 1.0),
        *(("DDIM, eta 0", "ddim", n, 0.0) for n in config.sampler_steps),
        *(("DDIM, eta 1", "ddim", n, 1.0) for n in config.sampler_steps),
        *(("DPM-Solver++", "dpm-solver", n, 0.0) for n in config.sampler_steps),
    ]
    rows, shown, kept = [], [], {}
    for name, kind, steps, eta in plan:
        started = time.perf_counter()
        pixels = run(kind, steps, eta)
        seconds = time.perf_counter() - started
        predicted, features = classifier.judge(models.classifier, pixels)
        rows.append(
            {
                "sampler": name,
                "scheduler": kind,
                "steps": steps,
                "eta": eta if kind != "dpm-solver" else None,
                "accuracy": classifier.accuracy(predicted, wanted),
                "frechet_distance": classifier.frechet_distance(features, test_features),
                "seconds": seconds,
            }
        )
        shown.append(pixels[:: config.sampler_samples_per_class])  # the first sample of each digit
        if kind == "ddim" and steps == max(config.sampler_steps):
            kept[eta] = pixels
    same_noise = {}
    for eta, first in kept.items():
        again = run("ddim", max(config.sampler_steps), eta, seed=config.seed + 2)  # other step noise
        same_noise[eta] = {
            "first": first[:SHOWN],
            "second": again[:SHOWN],
            "max_difference": (again - first).abs().max().item(),
        }
    real = {
        "accuracy": classifier.accuracy(test_classes, test.labels),
        "frechet_distance": classifier.frechet_distance(real_features, test_features),
    }
    return {"rows": rows, "shown": shown, "samples": len(wanted), "real": real}, same_noise


def _of_class(images: ImageSet, digit: int, count: int) -> ImageSet:
    chosen = images.of_classes([digit], count)
    require(len(chosen) == count, f"only {len(chosen)} held-out images of digit {digit}; use fewer --edit-images")
    return chosen


def _edit(
    config: Config, models: Any, sources: ImageSet, runtime: Any, progress: Progress
) -> tuple[list[dict[str, Any]], dict[tuple[int, str], torch.Tensor]]:
    """Edit `sources` into `config.edit_to` from each start step, by inversion and by img2img."""
    forward = guidance.ddim_scheduler(models.scheduler, config.sampling_steps)
    inverse = guidance.ddim_inverse_scheduler(models.scheduler, config.sampling_steps)
    x0 = sources.floats(slice(None)) * 2 - 1
    source_labels = sources.labels
    target = torch.full_like(source_labels, config.edit_to)
    generator = torch.Generator(runtime.device).manual_seed(config.seed)
    rows, shown = [], {}
    for k in config.edit_steps:
        start = config.sampling_steps - k  # forward.timesteps[start] is where k inverse steps end
        t = forward.timesteps[start]
        stage = f"edit from step {k}"
        starts = {
            "inversion": guidance.invert(
                models.unet, inverse, x0, source_labels, INVERSION_SCALE, steps=k, progress=progress, stage=stage
            ),
            "img2img": forward.add_noise(x0, torch.randn(x0.shape, generator=generator, device=x0.device), t),
        }
        row: dict[str, Any] = {
            "start_step": k,
            "timestep": int(t),
            "signal_kept": math.sqrt(forward.alphas_cumprod[int(t)].item()),
        }
        for method, xt in starts.items():
            with runtime.autocast():
                result = to_pixels(
                    guidance.sample(
                        models.unet,
                        forward,
                        xt,
                        target,
                        config.guidance_scale,
                        start=start,
                        progress=progress,
                        stage=stage,
                    )
                )
            predicted, _ = classifier.judge(models.classifier, result)
            row[method] = {
                "mse_to_source": (result - to_pixels(x0)).square().mean().item(),
                "target_accuracy": classifier.accuracy(predicted, target),
                "still_source_class": classifier.accuracy(predicted, source_labels),
            }
            shown[k, method] = result[:SHOWN]
        rows.append(row)
    return rows, shown


def _reconstruction_figure(
    table: list[dict[str, Any]], originals: torch.Tensor, examples: list[torch.Tensor], path: Path
) -> Path:
    import matplotlib.pyplot as plt

    figure, (pictures, curve, numbers) = plt.subplots(
        1, 3, figsize=(14, 4.6), gridspec_kw={"width_ratios": [1, 1.3, 0.5]}
    )
    pictures.imshow(
        tile(torch.cat([originals, *examples]), columns=len(originals)),
        cmap="gray",
        vmin=0,
        vmax=255,
        interpolation="nearest",
    )
    rows = ["original"] + [f"{row['steps']} steps" for row in table]
    height = originals.shape[-1] + 2
    pictures.set_yticks([2 + height * (i + 0.5) for i in range(len(rows))], rows, fontsize=8)
    pictures.set_xticks([])
    pictures.set_title("held-out digits, inverted and rebuilt", fontsize=10)

    steps = [row["steps"] for row in table]
    curve.plot(steps, [row["mse"] for row in table], "o-", color="tab:blue", label="MSE")
    curve.set_xscale("log")
    curve.set_yscale("log")
    curve.set(xlabel="DDIM steps (inversion and reconstruction each)", ylabel="MSE (pixels in [0, 1], log)")
    curve.set_xticks(steps, [str(s) for s in steps])
    curve.set_title("reconstruction error against the number of steps", fontsize=10)
    psnr_axis = curve.twinx()
    psnr_axis.plot(steps, [row["psnr"] for row in table], "s--", color="tab:red", label="PSNR")
    psnr_axis.set_ylabel("PSNR (dB)", color="tab:red")
    handles = curve.get_legend_handles_labels()[0] + psnr_axis.get_legend_handles_labels()[0]
    curve.legend(handles, ["MSE", "PSNR"], fontsize=8, loc="center left")

    numbers.axis("off")
    cells = [[str(row["steps"]), f"{row['mse']:.1e}", f"{row['psnr']:.1f}"] for row in table]
    grid = numbers.table(cellText=cells, colLabels=["steps", "MSE", "PSNR dB"], loc="center", cellLoc="right")
    grid.set_fontsize(9)
    grid.scale(1.1, 1.5)
    figure.suptitle(
        "DDIM inversion (DDIMInverseScheduler) then DDIM sampling, conditional prediction under each "
        "digit's own label, fp32",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _edit_figure(
    config: Config,
    rows: list[dict[str, Any]],
    sources: torch.Tensor,
    shown: dict[tuple[int, str], torch.Tensor],
    path: Path,
) -> Path:
    import matplotlib.pyplot as plt

    figure, (pictures, tradeoff) = plt.subplots(1, 2, figsize=(12, 5.2), gridspec_kw={"width_ratios": [1, 1.1]})
    labels, stacks = ["source"], [sources]
    for row in rows:
        for method in ("inversion", "img2img"):
            labels.append(f"{method}, from {row['start_step']}")
            stacks.append(shown[row["start_step"], method])
    pictures.imshow(
        tile(torch.cat(stacks), columns=len(sources)), cmap="gray", vmin=0, vmax=255, interpolation="nearest"
    )
    height = sources.shape[-1] + 2
    pictures.set_yticks([2 + height * (i + 0.5) for i in range(len(labels))], labels, fontsize=8)
    pictures.set_xticks([])
    pictures.set_title(f"{config.edit_from} -> {config.edit_to}, start step k of {config.sampling_steps}", fontsize=10)

    for method, style in (("inversion", "o-"), ("img2img", "s--")):
        x = [row[method]["mse_to_source"] for row in rows]
        y = [100 * row[method]["target_accuracy"] for row in rows]
        tradeoff.plot(x, y, style, label=method)
        for row, xi, yi in zip(rows, x, y, strict=True):
            tradeoff.annotate(
                f"k={row['start_step']}", (xi, yi), textcoords="offset points", xytext=(5, -10), fontsize=8
            )
    tradeoff.set(
        xlabel="MSE to the source (lower: keeps more of it)", ylabel=f"judged as {config.edit_to} (%)", ylim=(-5, 105)
    )
    tradeoff.set_xlim(left=0)
    tradeoff.set_title("keep the source or take the edit: up and left is better", fontsize=10)
    tradeoff.legend(fontsize=8)
    figure.suptitle(
        f"Editing by DDIM inversion vs img2img (add_noise), then {config.sampling_steps}-step DDIM "
        f"under class {config.edit_to} with guidance scale {config.guidance_scale:g}",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _samplers_figure(config: Config, samplers: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    rows = samplers["rows"]
    figure = plt.figure(figsize=(16, 5.2))
    grid = figure.add_gridspec(1, 4, width_ratios=(1.25, 1, 1, 1))
    pictures = figure.add_subplot(grid[0, 0])
    pictures.imshow(
        tile(torch.cat(samplers["shown"]), columns=CLASSES), cmap="gray", vmin=0, vmax=255, interpolation="nearest"
    )
    height = samplers["shown"][0].shape[-1] + 2
    pictures.set_yticks(
        [2 + height * (i + 0.5) for i in range(len(rows))], [f"{r['sampler']}, {r['steps']}" for r in rows], fontsize=8
    )
    pictures.set_xticks([])
    pictures.set_title("the same noise through each sampler (digits 0-9)", fontsize=10)

    ddpm = rows[0]
    panels = (
        ("accuracy", "class accuracy (%)", 100),
        ("frechet_distance", "Fréchet distance (lower: closer)", 1),
        ("seconds", "seconds", 1),
    )
    for column, (key, label, factor) in enumerate(panels, 1):
        ax = figure.add_subplot(grid[0, column])
        for name, style in (("DDIM, eta 0", "o-"), ("DDIM, eta 1", "s--"), ("DPM-Solver++", "^-.")):
            chosen = [r for r in rows if r["sampler"] == name]
            ax.plot([r["steps"] for r in chosen], [r[key] * factor for r in chosen], style, label=name)
        ax.plot([ddpm["steps"]], [ddpm[key] * factor], "k*", markersize=12, label=f"DDPM, {ddpm['steps']} steps")
        if key == "accuracy":
            ax.axhline(100 * samplers["real"]["accuracy"], color="grey", linestyle=":", label="real held-out digits")
            ax.set_ylim(0, 105)
        elif key == "frechet_distance":
            ax.axhline(samplers["real"]["frechet_distance"], color="grey", linestyle=":", label="real digits (as many)")
            ax.set_ylim(bottom=0)
        else:
            ax.set_yscale("log")
        ax.set_xscale("log")
        ax.set(xlabel="sampling steps (log)", title=label)
        ax.legend(fontsize=7)
    figure.suptitle(
        f"Samplers on cfg's class-conditioned UNet, conditional prediction (scale 1), "
        f"{samplers['samples']} samples each from the same noise; judged by the classifier",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _same_noise_figure(config: Config, same_noise: dict[float, dict[str, Any]], path: Path) -> Path:
    import matplotlib.pyplot as plt

    steps = max(config.sampler_steps)
    figure, axes = plt.subplots(1, len(same_noise), figsize=(5.5 * len(same_noise), 3.6), squeeze=False)
    for ax, (eta, run) in zip(axes[0], same_noise.items(), strict=True):
        difference = (run["second"] - run["first"]).abs()
        ax.imshow(
            tile(torch.cat([run["first"], run["second"], difference]), columns=len(run["first"])),
            cmap="gray",
            vmin=0,
            vmax=255,
            interpolation="nearest",
        )
        height = run["first"].shape[-1] + 2
        ax.set_yticks([2 + height * (i + 0.5) for i in range(3)], ["run 1", "run 2", "|difference|"], fontsize=8)
        ax.set_xticks([])
        kind = "deterministic" if eta == 0 else "fresh noise at every step"
        ax.set_title(
            f"DDIM eta {eta:g} ({kind}), {steps} steps\nmax |run 1 - run 2| = {run['max_difference']:.3g}", fontsize=10
        )
    figure.suptitle("The same starting noise, sampled twice with other step noise (generator)", fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)
