"""unet-training: train the course's from-scratch BasicUNet and a diffusers UNet2DModel, then sample.

Two models, two objectives, as in unit 1 of the course:

- BasicUNet (309,057 parameters) learns to predict the clean image x0 from
  `corrupt(x0, amount)`, amount uniform in [0, 1]; it samples with the course's iterative
  sampler: start from uniform noise and, at step i of n, move 1/(n - i) of the way to the
  model's prediction.
- UNet2DModel (32, 64, 64 channels, attention in the two lower blocks: 1,707,009 parameters)
  learns to predict the noise eps in DDPM's `x_t = sqrt(alpha_bar_t) x0 + sqrt(1 - alpha_bar_t) eps`
  (`DDPMScheduler.add_noise`, t uniform); it samples with `DDPMScheduler.step`, ancestral DDPM
  from pure Gaussian noise, or with `DDIMScheduler.step` (`--sampler ddim`, eta 1 by default),
  which the quick preset uses to sample in 50 steps on a CPU. The course's own UNet2DModel was
  trained like the BasicUNet (x0 from `corrupt`), so its losses are not comparable with these.

What each model predicts is shown, not only its samples: the GIFs and predicted_x0.png put
x_t next to the clean image the model predicts from it at each step (BasicUNet: its output;
UNet2DModel: the scheduler's `pred_original_sample`, x0 recovered from the predicted noise),
and loss_by_noise_level.png scores both models on held-out digits at ten noise levels.

Samples are judged, not eyeballed: the digit classifier cfg trains (`conditioning.pretrained_judge`,
from the model cache when cfg or an earlier run trained it) gives the share of samples it
recognises as some digit with confidence >= 0.9, next to the same share for real held-out digits.

Both train through 🤗 Accelerate with the same optimizer (Adam) and schedule (the BasicUNet at its own
learning rate, for fewer epochs in the quick preset). The full preset
is sized for a GPU: batch 256 at a constant 3e-3 after a short warm-up, bf16 autocast,
`torch.compile`. The batch is a trade: on an H100 a larger one runs faster per image, but
this short training is limited by its number of steps (after one epoch, batch 512 ended 37 %
above the course's loss, batch 256 at 3e-3 8 % above, at 2.6x its speed). On a 2-core CPU the
full preset takes well over an hour, the quick preset under a minute. The course trained at
batch 128 and lr 1e-3 on MNIST for 3 epochs (`--dataset mnist --batch-size 128
--learning-rate 1e-3 --basic-learning-rate 1e-3 --warmup-steps 0` repeats that).

Writes loss_curves.png (every step's loss in losses.csv), samples_basic_unet.png,
samples_unet2d.png, predicted_x0.png, loss_by_noise_level.png, training_data.png,
denoising_basic_unet.gif, denoising_unet2d.gif, and the trained UNet2DModel as a pipeline
folder (`DDPMPipeline.from_pretrained(<run>/unet2d-pipeline)`).
"""

from __future__ import annotations

import dataclasses
import itertools
import textwrap
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from . import classifier
from .base import Progress, Result
from .conditioning import ModelConfig, held_out, pretrained_judge
from .config import at_least, at_most, halvable, positive, require, unet_widths
from .data import DatasetName, ImageSet, load_images
from .device import CompileRequest, DeviceRequest, PrecisionRequest, Runtime, resolve
from .estimates import unet_pass
from .noising import corrupt, noise_loss
from .output import plot_losses, save_figure, save_gif, save_grid, tile
from .sampling import Trajectory, denoise, frames_to_keep
from .training import Schedule, TrainLog, final_loss, train
from .unets import ddpm_pipeline, make_scheduler, make_unet2d, parameters

if TYPE_CHECKING:  # imported where used: diffusers takes seconds to import
    from diffusers.pipelines.ddpm.pipeline_ddpm import DDPMPipeline


@dataclass(frozen=True)
class CourseFigures:
    """What the course reports for one of its models (unit 1), kept to draw beside this demo's."""

    model: str
    parameters: int
    objective: str
    epoch_losses: tuple[float, ...]


# Both trained on MNIST 28x28, 60,000 images per epoch, batch 128, Adam at 1e-3, for 3 epochs; both
# predict x0 from corrupt(x0, amount): the course's UNet2DModel is trained exactly like its BasicUNet.
COURSE_SETUP = "MNIST 28x28, 60,000 images/epoch, batch 128, Adam 1e-3"
COURSE = {
    "basic_unet": CourseFigures("BasicUNet", 309_057, "x0 from corrupt(x0, amount)", (0.0267, 0.0207, 0.0189)),
    "unet2d": CourseFigures(
        "UNet2DModel (32, 64, 64), attention", 1_707_009, "x0 from corrupt(x0, amount)", (0.0189, 0.0128, 0.0117)
    ),
}
CONFIDENCE = 0.9  # the judge's probability above which a sample counts as a recognisable digit
NOISE_LEVELS = 10  # bins of loss_by_noise_level.png
LEVEL_IMAGES = 128  # held-out digits scored at each noise level


@dataclass
class Config:
    dataset: DatasetName = field(default="digits", metadata={"help": "training images: digits (built in) or mnist"})
    image_size: int = field(
        default=28,
        metadata={"help": "pixels per side, halved by each UNet block: a multiple of 2^(widths - 1), and of 4"},
    )
    train_images: int = field(default=60_000, metadata={"help": "images per epoch (MNIST has 60,000)"})
    epochs: int = field(default=3, metadata={"help": "passes over the training images"})
    basic_epochs: int = field(default=3, metadata={"help": "the BasicUNet's passes (its loss levels off sooner)"})
    batch_size: int = field(default=256, metadata={"help": "images per step and process"})
    learning_rate: float = field(default=3e-3, metadata={"help": "the UNet2DModel's peak learning rate (Adam)"})
    basic_learning_rate: float = field(
        default=2e-3, metadata={"help": "the BasicUNet's (at 4e-3 it can collapse to one flat grey output)"}
    )
    lr_schedule: Literal["constant", "cosine"] = field(default="constant", metadata={"help": "after the warm-up"})
    warmup_steps: int = field(default=20, metadata={"help": "optimizer steps with a rising learning rate"})
    gradient_accumulation_steps: int = field(default=1, metadata={"help": "batches per optimizer step"})
    snr_gamma: float = field(
        default=0.0,
        metadata={"help": "UNet2DModel loss weights min(SNR, gamma)/SNR by timestep (Min-SNR); 0: plain MSE"},
    )
    unet_channels: tuple[int, ...] = field(
        default=(32, 64, 64),
        metadata={"help": "UNet2DModel block widths (multiples of 8)"},
    )
    layers_per_block: int = field(default=2, metadata={"help": "ResNet layers per UNet2DModel block"})
    beta_schedule: Literal["linear", "squaredcos_cap_v2"] = field(
        default="squaredcos_cap_v2", metadata={"help": "DDPM noise schedule (squaredcos_cap_v2 = cosine)"}
    )
    num_train_timesteps: int = field(default=1000, metadata={"help": "DDPM steps T"})
    attention: bool = field(default=True, metadata={"help": "self-attention in all but the first UNet2DModel block"})
    sampler: Literal["ddpm", "ddim"] = field(default="ddpm", metadata={"help": "the UNet2DModel's sampler"})
    eta: float = field(default=1.0, metadata={"help": "DDIM's eta: 0 deterministic, 1 as much fresh noise as DDPM"})
    sampling_steps: int = field(default=1000, metadata={"help": "sampler steps (DDPM below T: strided)"})
    basic_sampling_steps: int = field(default=40, metadata={"help": "steps of the course's BasicUNet sampler"})
    samples: int = field(default=64, metadata={"help": "images sampled from each model"})
    classifier_images: int = field(default=60_000, metadata={"help": "training images of the judging classifier"})
    classifier_epochs: int = field(default=4, metadata={"help": "passes of the judging classifier over its images"})
    classifier_batch_size: int = field(default=512, metadata={"help": "the judging classifier's batch"})
    test_images: int = field(default=2000, metadata={"help": "held-out real digits the judge scores, for comparison"})
    device: DeviceRequest = field(default="auto", metadata={"help": "auto: CUDA, then MPS, then CPU"})
    precision: PrecisionRequest = field(default="auto", metadata={"help": "auto: bf16 autocast on CUDA, else fp32"})
    compile: CompileRequest = field(default="auto", metadata={"help": "torch.compile the models (auto: on CUDA)"})
    seed: int = field(default=0, metadata={"help": "seed for data, initial weights, noise and sampling"})

    @classmethod
    def quick(cls) -> Config:
        """Under a minute on a 2-core CPU: 16x16 digits, a narrow UNet2DModel without attention (a third of
        the time on a CPU) trained for 512 steps of 64 images with Min-SNR weights (gamma 5), 50 DDIM steps to
        sample 128 images; the BasicUNet, whose loss levels off near 0.045 at 16x16, for 256 steps. Measured with the judge
        on 3 x 128 samples of each of 3 training seeds, the UNet2DModel's came out recognisable at 60-65 %
        against 88 % for real digits (0.68-0.74 of them); with plain MSE 57-59 % (seed 0, two learning-rate
        schedules), with 448 steps 56-64 %, with batch 128 and half the steps (plain MSE) 42-50 %."""
        return cls(
            image_size=16,
            train_images=8_192,
            epochs=4,
            basic_epochs=2,
            batch_size=64,
            learning_rate=4e-3,
            snr_gamma=5.0,
            lr_schedule="cosine",
            warmup_steps=10,
            unet_channels=(16, 32, 32),
            layers_per_block=1,
            attention=False,
            sampler="ddim",
            sampling_steps=50,
            basic_sampling_steps=40,
            samples=128,  # the judge's share of 64 swung by +-6 points from seed to seed
            # cfg's quick judge: the same settings share one cache entry.
            classifier_images=3_072,
            classifier_epochs=3,
            classifier_batch_size=32,
            test_images=500,
        )

    def __post_init__(self) -> None:
        at_least(
            self,
            1,
            "train_images",
            "epochs",
            "basic_epochs",
            "batch_size",
            "layers_per_block",
            "gradient_accumulation_steps",
            "samples",
            "num_train_timesteps",
            "sampling_steps",
            "basic_sampling_steps",
            "classifier_images",
            "classifier_epochs",
            "classifier_batch_size",
            "test_images",
        )
        require(0 <= self.eta <= 1, f"--eta {self.eta:g}: must be between 0 and 1")
        at_least(self, 0, "warmup_steps", "seed", "snr_gamma")
        positive(self, "learning_rate", "basic_learning_rate")
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
            trajectory.add(x.clamp(0, 1), f"BasicUNet: step {i + 1}/{steps}", prediction.clamp(0, 1))
    return x.clamp(0, 1), trajectory


# --- training each model -----------------------------------------------------------------------


def train_basic_unet(
    config: Config, data: ImageSet, runtime: Runtime, progress: Progress
) -> tuple[BasicUNet, TrainLog]:
    torch.manual_seed(config.seed)  # initial weights
    schedule = dataclasses.replace(
        Schedule.of(config), epochs=config.basic_epochs, learning_rate=config.basic_learning_rate
    )
    return train(BasicUNet(), x0_loss, data, schedule, runtime, config.seed, progress, "train BasicUNet")


def train_unet2d(config: Config, data: ImageSet, runtime: Runtime, progress: Progress) -> tuple[DDPMPipeline, TrainLog]:
    """The UNet2DModel, trained to predict noise; returns (DDPMPipeline, TrainLog)."""

    torch.manual_seed(config.seed)
    scheduler = make_scheduler(config)
    unet, log = train(
        make_unet2d(config),
        noise_loss(scheduler, config.snr_gamma),
        data,
        Schedule.of(config),
        runtime,
        config.seed,
        progress,
        "train UNet2DModel",
    )
    return ddpm_pipeline(unet, scheduler), log


# --- the demo ----------------------------------------------------------------------------------


def work(config: Config) -> float:
    """Work units of a run (`estimates.py`): training and sampling passes of both models, and the judge."""
    basic_pass = config.image_size**2 * 0.04  # BasicUNet's 5x5 convolutions cost about a (16, 32, 32) UNet2DModel
    trained = config.train_images * 3 * (config.basic_epochs * basic_pass / 1e3 + config.epochs * unet_pass(config))
    sampled = config.samples * (
        config.basic_sampling_steps * basic_pass / 1e3 + config.sampling_steps * unet_pass(config)
    )
    judged = config.classifier_images * config.classifier_epochs * config.image_size**2 * 2e-5
    return 1.0 + trained + sampled + judged


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

    # 4. The judge, from the model cache or trained now (by every process: under `accelerate launch` it is DDP).
    judge_config = _judge_config(config)
    judge, judge_info = pretrained_judge(judge_config, runtime, progress)
    if not runtime.is_main_process:  # under `accelerate launch`, one process samples and writes
        return Result()
    pipeline_dir = out_dir / "unet2d-pipeline"
    pipeline.save_pretrained(pipeline_dir)

    # 5. Sampling, each model with its own sampler, from the same seed.
    generator = torch.Generator(runtime.device).manual_seed(config.seed)
    started = time.perf_counter()
    progress("sample BasicUNet", 0, 1)
    basic_samples, basic_trajectory = sample_basic_unet(
        basic, config.samples, config.image_size, config.basic_sampling_steps, generator, runtime
    )
    progress("sample BasicUNet", 1, 1)
    basic_seconds = time.perf_counter() - started
    started = time.perf_counter()
    scheduler, step_options = _sampler(pipeline.scheduler, config)
    unet_samples, unet_trajectory = denoise(
        pipeline.unet,
        scheduler,
        config.samples,
        config.sampling_steps,
        generator,
        runtime,
        progress,
        step_options=step_options,
    )
    unet_seconds = time.perf_counter() - started

    # 6. How many samples the judge recognises as a digit, against real held-out digits.
    progress("judge samples", 0, 1)
    real = held_out(judge_config, runtime, config.test_images)
    real_share = classifier.confident_share(judge, real.floats(slice(None)), CONFIDENCE)
    shares = {
        name: classifier.confident_share(judge, images, CONFIDENCE)
        for name, images in (("basic_unet", basic_samples), ("unet2d", unet_samples))
    }
    progress("judge samples", 1, 1)

    # 7. Loss by noise level, on held-out digits the models have not trained on.
    progress("loss by noise level", 0, 1)
    levels = loss_by_level(
        basic,
        pipeline.unet,
        pipeline.scheduler,
        real.floats(slice(0, LEVEL_IMAGES)),
        torch.Generator(runtime.device).manual_seed(config.seed + 3),
    )
    progress("loss by noise level", 1, 1)

    # 8. Figures.
    progress("figures", 0, 1)
    sampler = (
        f"{config.sampling_steps} DDIM steps (eta {config.eta:g})"
        if config.sampler == "ddim"
        else f"{config.sampling_steps} DDPM steps"
    )
    basic_title = f"BasicUNet, {config.basic_sampling_steps} steps of the course's sampler"
    unet_title = f"UNet2DModel, {sampler}"
    files = [
        _loss_figure(basic_log, unet_log, config, out_dir / "loss_curves.png"),
        save_grid(
            basic_samples,
            out_dir / "samples_basic_unet.png",
            _titled(basic_title, basic_log, shares["basic_unet"], real_share),
        ),
        save_grid(
            unet_samples, out_dir / "samples_unet2d.png", _titled(unet_title, unet_log, shares["unet2d"], real_share)
        ),
        _prediction_figure(
            {
                "BasicUNet (predicts x0)": basic_trajectory,
                "UNet2DModel (predicts eps; x0 from the scheduler)": unet_trajectory,
            },
            out_dir / "predicted_x0.png",
        ),
        _level_figure(levels, config, out_dir / "loss_by_noise_level.png"),
        save_grid(
            data.floats(slice(0, config.samples)),
            out_dir / "training_data.png",
            f"Training images ({data.name}, {len(data):,} per epoch)",
        ),
        _loss_table(basic_log, unet_log, out_dir / "losses.csv"),
        _trajectory_gif(basic_trajectory, out_dir / "denoising_basic_unet.gif"),
        _trajectory_gif(unet_trajectory, out_dir / "denoising_unet2d.gif"),
        pipeline_dir,
    ]
    progress("figures", 1, 1)

    judged = {
        "confidence_threshold": CONFIDENCE,
        "real_digits_confident_share": real_share,
        "real_digits": len(real),
        "classifier": judge_info,
    }
    metrics: dict[str, object] = {
        name: {
            "parameters": parameters(model),
            **log.summary(),
            "final_loss": final_loss(log),
            "sampling_seconds": seconds,
            "confident_share": shares[name],
            "confident_share_vs_real": shares[name] / real_share if real_share else None,
            "loss_by_noise_level": levels[name],
        }
        for name, model, log, seconds in (
            ("basic_unet", basic, basic_log, basic_seconds),
            ("unet2d", pipeline.unet, unet_log, unet_seconds),
        )
    }
    metrics.update(
        judge=judged,
        course={name: vars(figures) for name, figures in COURSE.items()},
        course_setup=COURSE_SETUP,
        pipeline=str(pipeline_dir),
    )
    summary = [
        f"{name}: {log.images:,} images in {log.seconds:.1f} s ({log.images_per_second:,.0f} images/s), "
        f"epoch losses {', '.join(f'{v:.4f}' for v in log.epoch_losses)}; judge: {shares[key]:.0%} "
        f"recognisable (real digits {real_share:.0%})"
        for name, key, log in (("BasicUNet (x0)", "basic_unet", basic_log), ("UNet2DModel (eps)", "unet2d", unet_log))
    ]
    summary.append(f"Load the trained pipeline: DDPMPipeline.from_pretrained('{pipeline_dir}')")
    return Result(files=files, metrics=metrics, summary=summary)


def _sampler(training: Any, config: Config) -> tuple[Any, dict[str, Any]]:
    """The UNet2DModel's sampling scheduler (built from the training one's schedule) and its step options."""
    if config.sampler == "ddpm":
        return training, {}
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler

    return DDIMScheduler.from_config(training.config), {"eta": config.eta}


def _judge_config(config: Config) -> ModelConfig:
    """The judge's settings as cfg names them, so that both demos share one cached judge where they agree."""
    return ModelConfig(
        dataset=config.dataset,
        image_size=config.image_size,
        train_images=config.classifier_images,
        batch_size=config.classifier_batch_size,
        classifier_epochs=config.classifier_epochs,
        precision=config.precision,
        device=config.device,
        seed=config.seed,
    )


@torch.no_grad()
def loss_by_level(
    basic: nn.Module, unet: nn.Module, scheduler: Any, images: torch.Tensor, generator: torch.Generator
) -> dict[str, dict[str, list[float]]]:
    """Each model's loss on `images` (in [0, 1]) at `NOISE_LEVELS` noise levels, the centres of equal bins:
    BasicUNet by amount, MSE(prediction, x0); UNet2DModel by t, MSE(predicted eps, eps), and the MSE of the
    x0 it implies (in [0, 1] pixels, as BasicUNet's)."""
    centres = [(k + 0.5) / NOISE_LEVELS for k in range(NOISE_LEVELS)]
    device, count = images.device, len(images)
    basic_mse = []
    for amount in centres:
        noise = torch.rand(images.shape, generator=generator, device=device)
        noisy = corrupt(images, torch.full((count,), amount, device=device), noise)
        basic_mse.append(F.mse_loss(basic(noisy).float(), images).item())
    x0 = images * 2 - 1
    steps = [
        min(scheduler.config.num_train_timesteps - 1, int(c * scheduler.config.num_train_timesteps)) for c in centres
    ]
    eps_mse, x0_mse = [], []
    for t in steps:
        noise = torch.randn(x0.shape, generator=generator, device=device)
        timesteps = torch.full((count,), t, device=device, dtype=torch.long)
        noisy = scheduler.add_noise(x0, noise, timesteps)
        eps = unet(noisy, timesteps).sample.float()
        alpha_bar = scheduler.alphas_cumprod[t].item()
        predicted = ((noisy - (1 - alpha_bar) ** 0.5 * eps) / alpha_bar**0.5).clamp(-1, 1)
        eps_mse.append(F.mse_loss(eps, noise).item())
        x0_mse.append(F.mse_loss(predicted / 2, x0 / 2).item())  # half: [-1, 1] differences in [0, 1] pixels
    return {
        "basic_unet": {"amount": centres, "x0_mse": basic_mse},
        "unet2d": {"t": steps, "eps_mse": eps_mse, "x0_mse": x0_mse},
    }


def _titled(title: str, log: TrainLog, share: float, real_share: float) -> str:
    return (
        f"{title}\nafter {log.images:,} training images (final loss {final_loss(log):.4f})\n"
        f"judge: {share:.0%} recognisable as a digit (confidence >= {CONFIDENCE:g}); "
        f"real held-out digits: {real_share:.0%}"
    )


def _trajectory_gif(trajectory: Trajectory, path: Path) -> Path:
    """x_t on the left, the model's predicted x0 on the right, at each kept step."""
    labels = [f"{label}\nleft: x_t   right: predicted x0" for label in trajectory.labels]
    return save_gif(trajectory.frames, path, labels, beside=trajectory.predicted)


def _prediction_figure(trajectories: dict[str, Trajectory], path: Path, columns: int = 8, shown: int = 4) -> Path:
    """For each model, x_t (top row) and the predicted x0 (bottom row) at `columns` steps, `shown` samples each."""
    import matplotlib.pyplot as plt

    predicted = {name: [i for i, p in enumerate(t.predicted) if p is not None] for name, t in trajectories.items()}
    columns = min(columns, *(len(steps) for steps in predicted.values()))
    figure, axes = plt.subplots(
        2 * len(trajectories), columns, figsize=(1.6 * columns, 3.6 * len(trajectories)), squeeze=False
    )
    for row, (name, trajectory) in enumerate(trajectories.items()):
        steps = predicted[name]
        picked = [steps[round(k * (len(steps) - 1) / max(1, columns - 1))] for k in range(columns)]
        for column, index in enumerate(picked):
            prediction = trajectory.predicted[index]
            assert prediction is not None  # `picked` holds only steps with a prediction
            for offset, images in ((0, trajectory.frames[index]), (1, prediction)):
                ax = axes[2 * row + offset, column]
                ax.imshow(tile(images[:shown], columns=2), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
                ax.set_xticks([])
                ax.set_yticks([])
            axes[2 * row, column].set_title(trajectory.labels[index].split(": ", 1)[-1], fontsize=8)
        axes[2 * row, 0].set_ylabel(f"{name}\nx_t", fontsize=8)
        axes[2 * row + 1, 0].set_ylabel("predicted x0", fontsize=8)
    figure.suptitle(
        "What the model predicts: x_t after each step (top) and the clean image it predicts there (bottom)", fontsize=10
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _level_figure(levels: dict[str, dict[str, list[float]]], config: Config, path: Path) -> Path:
    import matplotlib.pyplot as plt

    basic, unet = levels["basic_unet"], levels["unet2d"]
    figure, axes = plt.subplots(1, 2, figsize=(12, 4.2))
    axes[0].plot(basic["amount"], basic["x0_mse"], "o-", color="tab:blue", label="MSE(prediction, x0)")
    axes[0].set(xlabel="amount of noise in corrupt(x0, amount)", ylabel="MSE", title="BasicUNet (predicts x0)")
    fractions = [t / config.num_train_timesteps for t in unet["t"]]
    axes[1].plot(fractions, unet["eps_mse"], "o-", color="tab:orange", label="MSE(predicted eps, eps): its loss")
    axes[1].plot(fractions, unet["x0_mse"], "s--", color="tab:blue", label="MSE of the x0 it implies, [0, 1] pixels")
    axes[1].set(
        xlabel=f"t / T (T = {config.num_train_timesteps}, {config.beta_schedule} schedule)",
        ylabel="MSE",
        title="UNet2DModel (predicts the noise eps)",
    )
    for ax in axes:
        ax.set_yscale("log")
        ax.legend(fontsize=8)
    figure.suptitle(
        f"Loss by noise level on {LEVEL_IMAGES} held-out digits: the clean image is hard to recover "
        "from heavy noise, the noise is hard to pick out of a nearly clean image",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _loss_table(basic: TrainLog, unet: TrainLog, path: Path) -> Path:
    """Every step's loss, for plotting elsewhere."""
    rows = ["step,basic_unet_x0_mse,unet2d_eps_mse"]
    rows += [
        f"{i + 1},{_cell(b)},{_cell(u)}" for i, (b, u) in enumerate(itertools.zip_longest(basic.losses, unet.losses))
    ]
    path.write_text("\n".join(rows) + "\n", encoding="utf-8")
    return path


def _cell(loss: float | None) -> str:
    """A loss in losses.csv; empty after the model that trained fewer steps has stopped."""
    return "" if loss is None else f"{loss:.6f}"


def _loss_figure(basic: TrainLog, unet: TrainLog, config: Config, path: Path) -> Path:
    """Both training losses, with the course's figures where they are comparable and a caption of what differs."""
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 4.6))
    weighted = f", Min-SNR weights (gamma {config.snr_gamma:g})" if config.snr_gamma else ""
    panels = (
        (axes[0], basic, f"BasicUNet: MSE(prediction, x0), {config.basic_epochs} epochs", COURSE["basic_unet"]),
        # the course's UNet2DModel predicted x0: not comparable
        (axes[1], unet, f"UNet2DModel: MSE(predicted eps, eps){weighted}, {config.epochs} epochs", None),
    )
    for ax, log, title, course in panels:
        ends = plot_losses(ax, log.losses, log.epoch_losses, config.batch_size)
        for end, value in zip(ends, log.epoch_losses, strict=True):
            ax.annotate(
                f"{value:.4f}",
                (end, value),
                textcoords="offset points",
                xytext=(0, 8),
                ha="center",
                fontsize=8,
                color="tab:red",
            )
        if course:
            _draw_course(ax, course, log, config)
        ax.set(ylabel="MSE (log scale)", title=title)
        ax.legend(fontsize=8)
    figure.suptitle(
        f"Training on {config.dataset} {config.image_size}x{config.image_size}, "
        f"epochs of {config.train_images:,} images, batch {config.batch_size}",
        fontsize=10,
    )
    unet_course = COURSE["unet2d"]
    caption = (
        f"Course (grey): {COURSE_SETUP}, 3 epochs. Here: {config.dataset} {config.image_size}x{config.image_size}, "
        f"{config.train_images * config.basic_epochs:,} (BasicUNet) and {config.train_images * config.epochs:,} "
        f"(UNet2DModel) images in all, batch {config.batch_size}, Adam "
        f"{config.learning_rate:g} (BasicUNet {config.basic_learning_rate:g}; {config.lr_schedule}). BasicUNet: the course's objective (x0 from corrupt). "
        f"UNet2DModel: here it predicts the noise under DDPM; the course's {unet_course.model} "
        f"({unet_course.parameters:,} parameters) predicted {unet_course.objective}, epoch losses "
        + ", ".join(map(str, unet_course.epoch_losses))
        + ": not comparable with this loss, so not drawn."
    )
    figure.text(0.01, -0.02, textwrap.fill(caption, 170), fontsize=8, va="top")
    figure.tight_layout()
    return save_figure(figure, path)


def _draw_course(ax: Any, course: CourseFigures, log: TrainLog, config: Config) -> None:
    """The course's epoch losses at the step where this run has seen as many images, or, where this run
    is shorter than the course's first epoch, as a band from its first to its last epoch."""
    images_per_step = log.images / max(1, len(log.losses))
    at = [(epoch + 1) * 60_000 / images_per_step for epoch in range(len(course.epoch_losses))]
    label = f"course, {course.model}: " + ", ".join(map(str, course.epoch_losses))
    inside = [(step, loss) for step, loss in zip(at, course.epoch_losses, strict=True) if step <= len(log.losses)]
    if inside:
        ax.plot(
            *zip(*inside, strict=True), "s--", color="grey", markersize=4, label=label + " (at the same images seen)"
        )
    else:
        ax.axhspan(
            min(course.epoch_losses),
            max(course.epoch_losses),
            color="grey",
            alpha=0.2,
            label=label + f" (after {len(course.epoch_losses)} x 60,000 images)",
        )
