"""unet-training: train the course's from-scratch BasicUNet and a diffusers UNet2DModel, then sample.

Two models, two objectives, as in unit 1 of the course:

- BasicUNet (309,057 parameters) learns to predict the clean image x0 from
  `corrupt(x0, amount)`, amount uniform in [0, 1]; it samples with the course's iterative
  sampler: start from uniform noise and, at step i of n, move 1/(n - i) of the way to the
  model's prediction.
- UNet2DModel (32, 64, 64 channels, attention in the two lower blocks: 1,707,009 parameters)
  learns to predict the noise eps in DDPM's `x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps`
  (`DDPMScheduler.add_noise`, t uniform); it samples with `DDPMScheduler.step`, ancestral DDPM
  from pure Gaussian noise. With `--sampling-steps` below T the chain skips timesteps evenly
  (diffusers' strided DDPM), which the quick preset uses to sample in seconds on a CPU.

Both train through 🤗 Accelerate with the same optimizer (Adam) and schedule. The full preset
is sized for a GPU: batch 256 at a constant 3e-3 after a short warm-up, bf16 autocast,
`torch.compile`. The batch is a trade: on an H100 a larger one runs faster per image, but
this short training is limited by its number of steps (after one epoch, batch 512 ended 37 %
above the course's loss, batch 256 at 3e-3 8 % above, at 2.6x its speed). On a 2-core CPU the
full preset takes well over an hour, the quick preset under a minute. The course trained at
batch 128 and lr 1e-3 on MNIST for 3 epochs (`--dataset mnist --batch-size 128
--learning-rate 1e-3 --warmup-steps 0` repeats that).

Writes loss_curves.png (every step's loss in losses.csv), samples_basic_unet.png,
samples_unet2d.png, training_data.png, denoising_basic_unet.gif, denoising_unet2d.gif, and the
trained UNet2DModel as a pipeline folder (`DDPMPipeline.from_pretrained(<run>/unet2d-pipeline)`).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Literal

import torch
import torch.nn.functional as F
from torch import nn

from .base import Progress, Result
from .config import at_least, at_most, halvable, positive, unet_widths
from .data import DatasetName, ImageSet, load_images
from .device import CompileRequest, DeviceRequest, PrecisionRequest, Runtime, resolve
from .noising import corrupt, noise_loss
from .output import plot_losses, save_figure, save_gif, save_grid
from .sampling import Trajectory, denoise, frames_to_keep
from .training import Schedule, TrainLog, final_loss, train
from .unets import make_scheduler, make_unet2d, parameters

if TYPE_CHECKING:  # imported where used: diffusers takes seconds to import
    from diffusers import DDPMPipeline

# The course's epoch losses on MNIST (batch 128, Adam 1e-3), for comparison in loss_curves.png.
COURSE_BASIC_UNET_EPOCH_LOSSES = (0.0267, 0.0207, 0.0189)


@dataclass
class Config:
    dataset: DatasetName = field(default="digits", metadata={"help": "training images: digits (built in) or mnist"})
    image_size: int = field(
        default=28,
        metadata={"help": "pixels per side, halved by each UNet block: a multiple of 2^(widths - 1), and of 4"},
    )
    train_images: int = field(default=60_000, metadata={"help": "images per epoch (MNIST has 60,000)"})
    epochs: int = field(default=3, metadata={"help": "passes over the training images"})
    batch_size: int = field(default=256, metadata={"help": "images per step and process"})
    learning_rate: float = field(default=3e-3, metadata={"help": "Adam's peak learning rate"})
    lr_schedule: Literal["constant", "cosine"] = field(default="constant", metadata={"help": "after the warm-up"})
    warmup_steps: int = field(default=20, metadata={"help": "optimizer steps with a rising learning rate"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "batches per optimizer step"})
    unet_channels: tuple[int, ...] = field(
        default=(32, 64, 64),
        metadata={"help": "UNet2DModel block widths (multiples of 8); attention in all but the first"},
    )
    layers_per_block: int = field(default=2, metadata={"help": "ResNet layers per UNet2DModel block"})
    beta_schedule: Literal["linear", "squaredcos_cap_v2"] = field(
        default="squaredcos_cap_v2", metadata={"help": "DDPM noise schedule (squaredcos_cap_v2 = cosine)"}
    )
    num_train_timesteps: int = field(default=1000, metadata={"help": "DDPM steps T"})
    sampling_steps: int = field(default=1000, metadata={"help": "DDPM steps when sampling (fewer: strided)"})
    basic_sampling_steps: int = field(default=40, metadata={"help": "steps of the course's BasicUNet sampler"})
    samples: int = field(default=64, metadata={"help": "images sampled from each model"})
    device: DeviceRequest = field(default="auto", metadata={"help": "auto: CUDA, then MPS, then CPU"})
    precision: PrecisionRequest = field(default="auto", metadata={"help": "auto: bf16 autocast on CUDA, else fp32"})
    compile: CompileRequest = field(default="auto", metadata={"help": "torch.compile the models (auto: on CUDA)"})
    seed: int = field(default=0, metadata={"help": "seed for data, initial weights, noise and sampling"})

    @classmethod
    def quick(cls) -> Config:
        """A minute on a 2-core CPU: 16x16 digits, a narrower UNet2DModel, a 100-step sampler."""
        return cls(
            image_size=16,
            train_images=6_144,
            epochs=2,
            batch_size=32,
            learning_rate=2e-3,
            lr_schedule="cosine",
            warmup_steps=10,
            unet_channels=(16, 32, 32),
            layers_per_block=1,
            sampling_steps=100,
            basic_sampling_steps=20,
            samples=36,
        )

    def __post_init__(self) -> None:
        at_least(
            self,
            1,
            "train_images",
            "epochs",
            "batch_size",
            "layers_per_block",
            "gradient_accumulation_steps",
            "samples",
            "num_train_timesteps",
            "sampling_steps",
            "basic_sampling_steps",
        )
        at_least(self, 0, "warmup_steps", "seed")
        positive(self, "learning_rate")
        unet_widths(self.unet_channels)
        halvable(self.image_size, max(2, len(self.unet_channels) - 1))  # BasicUNet halves twice
        at_most(self, "sampling_steps", "num_train_timesteps")


# --- the course's model (the UNet2DModel is unets.make_unet2d) ---------------------------------


class BasicUNet(nn.Module):
    """The course's minimal UNet: three 5x5 convolutions down (max-pooling between), three up
    (upsampling between), skip connections added, SiLU after every layer."""

    def __init__(self, in_channels: int = 1, out_channels: int = 1):
        super().__init__()
        self.down_layers = nn.ModuleList(
            [
                nn.Conv2d(in_channels, 32, kernel_size=5, padding=2),
                nn.Conv2d(32, 64, kernel_size=5, padding=2),
                nn.Conv2d(64, 64, kernel_size=5, padding=2),
            ]
        )
        self.up_layers = nn.ModuleList(
            [
                nn.Conv2d(64, 64, kernel_size=5, padding=2),
                nn.Conv2d(64, 32, kernel_size=5, padding=2),
                nn.Conv2d(32, out_channels, kernel_size=5, padding=2),
            ]
        )
        self.act = nn.SiLU()
        self.downscale = nn.MaxPool2d(2)
        self.upscale = nn.Upsample(scale_factor=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = []
        for i, layer in enumerate(self.down_layers):
            x = self.act(layer(x))
            if i < 2:  # all but the last down layer: keep for the skip connection, then downscale
                h.append(x)
                x = self.downscale(x)
        for i, layer in enumerate(self.up_layers):
            if i > 0:  # all but the first up layer: upscale, then add the matching skip
                x = self.upscale(x)
                x = x + h.pop()
            x = self.act(layer(x))
        return x


# --- the course's objective (DDPM's is noising.noise_loss) -------------------------------------


def x0_loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """The course's BasicUNet objective: predict the clean image from `corrupt(x, amount)`."""
    amount = torch.rand(len(images), generator=generator, device=images.device)
    noise = torch.rand(images.shape, generator=generator, device=images.device)
    return F.mse_loss(model(corrupt(images, amount, noise)), images)


# --- the course's sampler (DDPM's is sampling.denoise) -----------------------------------------


@torch.no_grad()
def sample_basic_unet(
    model: nn.Module, count: int, size: int, steps: int, generator: torch.Generator, runtime: Runtime, frames: int = 20
) -> tuple[torch.Tensor, Trajectory]:
    """The course's sampler: from uniform noise, at step i move 1/(steps - i) of the way to the prediction."""
    x = torch.rand(count, 1, size, size, generator=generator, device=runtime.device)
    trajectory = Trajectory()
    trajectory.add(x, "BasicUNet: noise")
    keep = frames_to_keep(steps, frames)
    for i in range(steps):
        with runtime.autocast():
            prediction = model(x).float()
        mix = 1 / (steps - i)
        x = x * (1 - mix) + prediction * mix
        if i in keep:
            trajectory.add(x.clamp(0, 1), f"BasicUNet: step {i + 1}/{steps}")
    return x.clamp(0, 1), trajectory


# --- training each model -----------------------------------------------------------------------


def train_basic_unet(
    config: Config, data: ImageSet, runtime: Runtime, progress: Progress
) -> tuple[BasicUNet, TrainLog]:
    torch.manual_seed(config.seed)  # initial weights
    return train(BasicUNet(), x0_loss, data, Schedule.of(config), runtime, config.seed, progress, "train BasicUNet")


def train_unet2d(config: Config, data: ImageSet, runtime: Runtime, progress: Progress) -> tuple[DDPMPipeline, TrainLog]:
    """The UNet2DModel, trained to predict noise; returns (DDPMPipeline, TrainLog)."""
    from diffusers import DDPMPipeline

    torch.manual_seed(config.seed)
    scheduler = make_scheduler(config)
    unet, log = train(
        make_unet2d(config),
        noise_loss(scheduler),
        data,
        Schedule.of(config),
        runtime,
        config.seed,
        progress,
        "train UNet2DModel",
    )
    return DDPMPipeline(unet=unet, scheduler=scheduler), log


# --- the demo ----------------------------------------------------------------------------------


def run(config: Config, out_dir: Path, progress: Progress) -> Result:
    runtime = resolve(config.device, config.precision, config.compile)

    # 1. Training images, rendered or loaded straight onto the device.
    progress("load data", 0, 1)
    data = load_images(config.dataset, config.image_size, config.train_images, config.seed, runtime.device)
    progress("load data", 1, 1)

    # 2. BasicUNet: predict x0 from corrupt(x0, amount).
    basic, basic_log = train_basic_unet(config, data, runtime, progress)

    # 3. UNet2DModel + DDPMScheduler: predict the noise; saved as a pipeline in the run folder.
    pipeline, unet_log = train_unet2d(config, data, runtime, progress)
    if not runtime.is_main_process:  # under `accelerate launch`, one process samples and writes
        return Result()
    pipeline_dir = out_dir / "unet2d-pipeline"
    pipeline.save_pretrained(pipeline_dir)

    # 4. Sampling, each model with its own sampler, from the same seed.
    generator = torch.Generator(runtime.device).manual_seed(config.seed)
    started = time.perf_counter()
    progress("sample BasicUNet", 0, 1)
    basic_samples, basic_trajectory = sample_basic_unet(
        basic, config.samples, config.image_size, config.basic_sampling_steps, generator, runtime
    )
    progress("sample BasicUNet", 1, 1)
    basic_seconds = time.perf_counter() - started
    started = time.perf_counter()
    unet_samples, unet_trajectory = denoise(
        pipeline.unet, pipeline.scheduler, config.samples, config.sampling_steps, generator, runtime, progress
    )
    unet_seconds = time.perf_counter() - started

    # 5. Figures.
    progress("figures", 0, 1)
    basic_title = f"BasicUNet, {config.basic_sampling_steps} steps of the course's sampler"
    unet_title = f"UNet2DModel, {config.sampling_steps} DDPM steps"
    files = [
        _loss_figure(basic_log, unet_log, config, out_dir / "loss_curves.png"),
        save_grid(basic_samples, out_dir / "samples_basic_unet.png", _trained(basic_title, basic_log)),
        save_grid(unet_samples, out_dir / "samples_unet2d.png", _trained(unet_title, unet_log)),
        save_grid(
            data.floats(slice(0, config.samples)),
            out_dir / "training_data.png",
            f"Training images ({data.name}, {len(data):,} per epoch)",
        ),
        _loss_table(basic_log, unet_log, out_dir / "losses.csv"),
        save_gif(basic_trajectory.frames, out_dir / "denoising_basic_unet.gif", basic_trajectory.labels),
        save_gif(unet_trajectory.frames, out_dir / "denoising_unet2d.gif", unet_trajectory.labels),
        pipeline_dir,
    ]
    progress("figures", 1, 1)

    metrics = {
        "basic_unet": {
            "parameters": parameters(basic),
            **basic_log.summary(),
            "final_loss": final_loss(basic_log),
            "sampling_seconds": basic_seconds,
        },
        "unet2d": {
            "parameters": parameters(pipeline.unet),
            **unet_log.summary(),
            "final_loss": final_loss(unet_log),
            "sampling_seconds": unet_seconds,
        },
        "course_basic_unet_epoch_losses_mnist": COURSE_BASIC_UNET_EPOCH_LOSSES,
        "pipeline": str(pipeline_dir),
    }
    summary = [
        f"{name}: {log.images:,} images in {log.seconds:.1f} s ({log.images_per_second:,.0f} images/s), "
        f"epoch losses {', '.join(f'{v:.4f}' for v in log.epoch_losses)}"
        for name, log in (("BasicUNet (x0)", basic_log), ("UNet2DModel (eps)", unet_log))
    ]
    summary.append(f"Load the trained pipeline: DDPMPipeline.from_pretrained('{pipeline_dir}')")
    return Result(files=files, metrics=metrics, summary=summary)


def _trained(title: str, log: TrainLog) -> str:
    return f"{title}\nafter {log.images:,} training images (final loss {final_loss(log):.4f})"


def _loss_table(basic: TrainLog, unet: TrainLog, path: Path) -> Path:
    """Every step's loss, for plotting elsewhere."""
    rows = ["step,basic_unet_x0_mse,unet2d_eps_mse"]
    rows += [f"{i + 1},{b:.6f},{u:.6f}" for i, (b, u) in enumerate(zip(basic.losses, unet.losses))]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _loss_figure(basic: TrainLog, unet: TrainLog, config: Config, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    panels = (
        (axes[0], basic, "BasicUNet: MSE(prediction, x0)", COURSE_BASIC_UNET_EPOCH_LOSSES),
        (axes[1], unet, "UNet2DModel: MSE(predicted eps, eps)", None),
    )
    for ax, log, title, course in panels:
        ends = plot_losses(ax, log.losses, log.epoch_losses, config.batch_size)
        for end, value in zip(ends, log.epoch_losses):
            ax.annotate(
                f"{value:.4f}",
                (end, value),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                fontsize=8,
                color="tab:red",
            )
        if course and config.epochs == len(course):
            ax.plot(
                ends,
                course,
                "s--",
                color="grey",
                markersize=4,
                label="course, MNIST, batch 128: " + ", ".join(map(str, course)),
            )
        ax.set(ylabel="MSE (log scale)", title=title)
        ax.legend(fontsize=8)
    figure.suptitle(
        f"Training on {config.dataset} {config.image_size}x{config.image_size}, "
        f"{config.epochs} epochs of {config.train_images:,} images",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)
