"""latent-diffusion: Stable Diffusion in miniature, every part trained here on captioned digits.

Stable Diffusion is three trained models and a scheduler, and so is this demo, built from the
same diffusers and transformers classes and assembled into the same `StableDiffusionPipeline`:

1. Data: digits rendered from scikit-learn's scans, each with a caption from how it was drawn
   ("a thick slanted seven", `data.captions`).
2. The VAE (`AutoencoderKL`, `autoencoder.py`): trained to reconstruct the digits through latents
   4x smaller per side; measured: reconstruction PSNR on held-out digits, pixel values per latent
   value (SD 1.x: 48), the latents' std and the `scaling_factor` that makes it 1.
3. Text: a `CLIPTokenizer` over the caption words (vocab.json and merges.txt written by `text.py`) and
   a tiny `CLIPTextModel`. SD's CLIP was trained on image-text pairs and kept frozen; ours has no such
   pretraining, so it is trained together with the UNet, from the same loss.
4. The UNet (`UNet2DConditionModel`): predicts the noise in the scaled latents, attending to the
   text encoder's token vectors through cross-attention; with probability `caption_dropout` a
   caption is replaced by the empty prompt, so one network also predicts without text (what
   classifier-free guidance needs, and what the pipeline's negative prompt replaces).
5. Assembled: `StableDiffusionPipeline(vae, text_encoder, tokenizer, unet, scheduler, safety_checker=None,
   ...)`, saved with `save_pretrained` into the run folder, reloadable with `from_pretrained`.
6. Measured: one denoising step in pixel space against latent space (seconds and FLOPs, the same
   UNet widths); prompt accuracy (the judge of `classifier.py`) and diversity against the guidance
   scale; stroke words and negative prompts (ink per image); img2img strength
   (`StableDiffusionImg2ImgPipeline` from the same parts); the error a size the pipeline cannot take gives.

Writes latent_space.png (inputs, latents, reconstructions, the figures of step 2), step_cost.png,
text_guidance.png (samples per scale and the sweep), prompts.png (stroke words, negative prompts),
img2img_strength.png, and the pipeline in `sd-pipeline/`. The trained VAE and pipeline go to the
model cache; the judge is shared with cfg (same settings, same cache entry).
"""

from __future__ import annotations

import functools
import statistics
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import torch
import torch.nn.functional as F
from torch import nn

from . import autoencoder, cache, classifier, text
from .base import Progress, Result
from .conditioning import CLASSES, CLASSIFIER_KIND, judge_settings, train_judge
from .config import at_least, halvable, positive, require, unet_widths
from .data import (
    CAPTION_WORDS,
    DIGIT_WORDS,
    DatasetName,
    ImageSet,
    captions,
    load_images,
)
from .device import CompileRequest, DeviceRequest, PrecisionRequest, Runtime, resolve
from .diffusers_types import Scheduler, typed_scheduler
from .output import save_figure, tile
from .training import Schedule, TrainLog, final_loss, on_device, train

if TYPE_CHECKING:  # imported where used: diffusers takes seconds to import
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
    from transformers import CLIPTextModel

VAE_KIND, PIPELINE_KIND = "sd-vae", "sd-pipeline"
PROMPT_LENGTH = 8  # <|startoftext|>, at most six caption tokens, <|endoftext|>
COST_BATCH = 16


@dataclass
class Config:
    dataset: DatasetName = field(
        default="digits",
        metadata={"help": "training images: digits (captioned by how they were drawn) or mnist (the digit only)"},
    )
    image_size: int = field(default=32, metadata={"help": "pixels per side"})
    train_images: int = field(default=60_000, metadata={"help": "training images per epoch (from the train split)"})
    batch_size: int = field(default=256, metadata={"help": "images per step and process (VAE and judge)"})
    latent_batch_size: int = field(default=256, metadata={"help": "latents per step and process (UNet)"})
    vae_channels: tuple[int, ...] = field(
        default=(32, 64, 64),
        metadata={"help": "VAE block widths; the latents are 2^(blocks - 1) times smaller per side"},
    )
    latent_channels: int = field(default=2, metadata={"help": "numbers per latent pixel (SD: 4)"})
    vae_epochs: int = field(default=3, metadata={"help": "passes of the VAE over the training images"})
    vae_learning_rate: float = field(default=2e-3, metadata={"help": "Adam's peak learning rate for the VAE"})
    kl_weight: float = field(default=1e-4, metadata={"help": "weight of the VAE's KL term per latent value"})
    text_width: int = field(default=64, metadata={"help": "numbers per token from the text encoder"})
    text_layers: int = field(default=2, metadata={"help": "transformer layers of the text encoder"})
    unet_channels: tuple[int, ...] = field(default=(64, 128), metadata={"help": "UNet block widths (multiples of 8)"})
    layers_per_block: int = field(default=2, metadata={"help": "ResNet layers per UNet block"})
    epochs: int = field(default=10, metadata={"help": "passes of the UNet and text encoder over the latents"})
    learning_rate: float = field(default=1e-3, metadata={"help": "Adam's peak learning rate for UNet and text encoder"})
    lr_schedule: Literal["constant", "cosine"] = field(default="cosine", metadata={"help": "after the warm-up"})
    warmup_steps: int = field(default=50, metadata={"help": "optimizer steps with a rising learning rate"})
    caption_dropout: float = field(default=0.1, metadata={"help": "share of captions replaced by the empty prompt"})
    num_train_timesteps: int = field(default=1000, metadata={"help": "DDPM steps T (SD's scaled-linear betas)"})
    classifier_epochs: int = field(default=4, metadata={"help": "passes of the judging classifier over the images"})
    guidance_scales: tuple[float, ...] = field(
        default=(1.0, 2.0, 4.0, 7.5),
        metadata={"help": "guidance scales of the sweep (the pipeline guides above 1 only)"},
    )
    guidance_scale: float = field(default=4.0, metadata={"help": "the scale of prompts.png and img2img"})
    samples_per_prompt: int = field(default=16, metadata={"help": "samples of each digit's prompt at each setting"})
    sampling_steps: int = field(default=30, metadata={"help": "DDIM steps per sample"})
    eta: float = field(default=1.0, metadata={"help": "DDIM's eta: 0 deterministic, 1 as much fresh noise as DDPM"})
    strengths: tuple[float, ...] = field(
        default=(0.2, 0.4, 0.6, 0.8, 1.0), metadata={"help": "img2img strengths of the sweep"}
    )
    test_images: int = field(default=2000, metadata={"help": "held-out real digits for the VAE's PSNR and the judge"})
    retrain: bool = field(default=False, metadata={"help": "train again even if the model cache has these models"})
    device: DeviceRequest = field(default="auto", metadata={"help": "auto: CUDA, then MPS, then CPU"})
    precision: PrecisionRequest = field(default="auto", metadata={"help": "auto: bf16 autocast on CUDA, else fp32"})
    compile: CompileRequest = field(default="off", metadata={"help": "torch.compile the models for training"})
    seed: int = field(default=0, metadata={"help": "seed for data, initial weights and sampling noise"})

    @classmethod
    def quick(cls) -> Config:
        # The judge's settings match cfg's quick preset: the two share its cache entry.
        # The UNet learns to use the text only after some 40,000 captioned latents (measured: at batch 32 and 384
        # steps its loss with shuffled captions equalled its loss with the right ones); on 4x4 latents a large
        # batch costs little more per step than a small one.
        return cls(
            image_size=16,
            train_images=3_072,
            batch_size=32,
            vae_channels=(8, 16, 16),
            vae_epochs=2,
            text_width=32,
            unet_channels=(32, 64),
            layers_per_block=1,
            latent_batch_size=128,
            epochs=14,
            learning_rate=2e-3,
            warmup_steps=10,
            classifier_epochs=3,
            guidance_scales=(1.0, 3.0, 7.5),
            samples_per_prompt=4,
            sampling_steps=10,
            strengths=(0.3, 0.6, 1.0),
            test_images=500,
        )

    def __post_init__(self) -> None:
        at_least(
            self,
            1,
            "train_images",
            "batch_size",
            "latent_batch_size",
            "latent_channels",
            "vae_epochs",
            "text_layers",
            "layers_per_block",
            "epochs",
            "num_train_timesteps",
            "classifier_epochs",
            "sampling_steps",
            "test_images",
        )
        at_least(self, 0, "warmup_steps", "seed", "kl_weight")
        at_least(self, 2, "samples_per_prompt")  # diversity needs pairs
        positive(self, "vae_learning_rate", "learning_rate")
        require(
            self.text_width >= 8 and self.text_width % 8 == 0,
            f"--text-width {self.text_width}: must be a multiple of 8 (at least 8)",
        )
        require(
            0 < self.caption_dropout < 1,
            f"--caption-dropout {self.caption_dropout}: must be between 0 and 1 (the empty prompt must be trained)",
        )
        require(0 <= self.eta <= 1, f"--eta {self.eta:g}: must be between 0 and 1")
        require(
            self.sampling_steps <= self.num_train_timesteps,
            f"--sampling-steps {self.sampling_steps}: at most --num-train-timesteps ({self.num_train_timesteps})",
        )
        require(
            len(self.vae_channels) >= 2 and all(c >= 8 and c % 8 == 0 for c in self.vae_channels),
            f"--vae-channels {' '.join(map(str, self.vae_channels))}: need two or more widths, multiples of 8",
        )
        unet_widths(self.unet_channels)
        down = 2 ** (len(self.vae_channels) - 1)
        # The pipeline itself asks for sizes divisible by 8 (SD's VAE factor); the UNet halves the latents.
        require(
            self.image_size % 8 == 0,
            f"--image-size {self.image_size}: StableDiffusionPipeline takes multiples of 8 only",
        )
        halvable(self.image_size, len(self.vae_channels) - 1)
        require(
            self.image_size // down % 2 ** (len(self.unet_channels) - 1) == 0,
            f"--image-size {self.image_size}: its {self.image_size // down}-pixel latents must halve "
            f"{len(self.unet_channels) - 1} times in the UNet",
        )
        for name, values, low, high in (
            ("guidance_scales", self.guidance_scales, 1, 100),
            ("strengths", self.strengths, 0.01, 1),
        ):
            require(len(values) > 0, f"{_flag(name)}: give at least one value")
            for value in values:
                require(low <= value <= high, f"{_flag(name)} {value:g}: each must be between {low:g} and {high:g}")
        for strength in self.strengths:  # img2img runs int(steps x strength) steps, and fails on none
            require(
                int(self.sampling_steps * strength) >= 1,
                f"--strengths {strength:g}: with --sampling-steps {self.sampling_steps}, img2img would run "
                f"int({self.sampling_steps} x {strength:g}) = 0 steps; raise either",
            )
        require(1 <= self.guidance_scale <= 100, f"--guidance-scale {self.guidance_scale:g}: must be between 1 and 100")


def _flag(name: str) -> str:
    return "--" + name.replace("_", "-")


# --- the models --------------------------------------------------------------------------------


class TextConditionedUNet(nn.Module):
    """UNet and text encoder trained as one module (one optimizer, one DDP wrapper): token ids in,
    the text encoder's last hidden states into the UNet's cross-attention, as the pipeline does."""

    def __init__(self, unet: UNet2DConditionModel, text_encoder: CLIPTextModel) -> None:
        super().__init__()
        self.unet, self.text_encoder = unet, text_encoder

    def forward(self, latents: torch.Tensor, t: torch.Tensor, ids: torch.Tensor) -> torch.Tensor:
        return self.unet(latents, t, encoder_hidden_states=self.text_encoder(ids)[0]).sample


@dataclass(frozen=True)
class Latents:
    """The training set of the UNet: scaled latents and their captions' token ids (a `training.Batches`)."""

    latents: torch.Tensor
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.latents)

    def floats(self, index: torch.Tensor) -> torch.Tensor:
        return self.latents[index]


def make_unet(config: Config, in_channels: int, sample_size: int) -> UNet2DConditionModel:
    """SD's UNet in miniature: cross-attention in every block but the last (lowest) one."""
    from diffusers.models.unets.unet_2d_condition import UNet2DConditionModel

    blocks = len(config.unet_channels)
    return UNet2DConditionModel(
        sample_size=sample_size,
        in_channels=in_channels,
        out_channels=in_channels,
        block_out_channels=config.unet_channels,
        layers_per_block=config.layers_per_block,
        down_block_types=("CrossAttnDownBlock2D",) * (blocks - 1) + ("DownBlock2D",),
        up_block_types=("UpBlock2D",) + ("CrossAttnUpBlock2D",) * (blocks - 1),
        cross_attention_dim=config.text_width,
        attention_head_dim=8,
        norm_num_groups=min(32, *config.unet_channels),
    )


def make_training_scheduler(config: Config) -> Scheduler:
    """DDPM with Stable Diffusion's betas (scaled linear, 0.00085 to 0.012)."""
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

    return typed_scheduler(
        DDPMScheduler(
            num_train_timesteps=config.num_train_timesteps,
            beta_schedule="scaled_linear",
            beta_start=0.00085,
            beta_end=0.012,
        )
    )


def latent_loss(scheduler: Any, caption_dropout: float, empty: torch.Tensor) -> Any:
    """The noise-prediction objective on latents, a share of captions replaced by the empty prompt's ids."""

    def loss(model: nn.Module, latents: torch.Tensor, ids: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        dropped = torch.rand(len(ids), 1, generator=generator, device=ids.device) < caption_dropout
        ids = torch.where(dropped, empty.to(ids.device), ids)
        noise = torch.randn(latents.shape, generator=generator, device=latents.device)
        t = torch.randint(
            0, scheduler.config.num_train_timesteps, (len(latents),), generator=generator, device=latents.device
        )
        return F.mse_loss(model(scheduler.add_noise(latents, noise, t), t, ids).float(), noise)

    return loss


def vae_settings(config: Config) -> dict[str, Any]:
    names = (
        "dataset",
        "image_size",
        "train_images",
        "batch_size",
        "vae_channels",
        "latent_channels",
        "vae_epochs",
        "vae_learning_rate",
        "kl_weight",
        "warmup_steps",
        "precision",
        "seed",
    )
    return {name: getattr(config, name) for name in names}


def pipeline_settings(config: Config) -> dict[str, Any]:
    names = (
        "text_width",
        "text_layers",
        "unet_channels",
        "layers_per_block",
        "latent_batch_size",
        "epochs",
        "learning_rate",
        "lr_schedule",
        "caption_dropout",
        "num_train_timesteps",
    )
    return {**vae_settings(config), **{name: getattr(config, name) for name in names}}


def train_vae(config: Config, data: ImageSet, runtime: Runtime, progress: Progress) -> tuple[AutoencoderKL, TrainLog]:
    """The AutoencoderKL, its `scaling_factor` set from the training latents' std."""
    torch.manual_seed(config.seed)
    vae = autoencoder.make_vae(config.vae_channels, config.latent_channels, config.image_size)
    latent = config.image_size // autoencoder.factor(vae)
    schedule = Schedule(config.vae_epochs, config.batch_size, config.vae_learning_rate, "cosine", config.warmup_steps)
    trained, log = train(
        autoencoder.VAETraining(vae),
        autoencoder.vae_loss(config.kl_weight, (config.latent_channels, latent, latent)),
        data,
        schedule,
        runtime,
        config.seed,
        progress,
        "train VAE",
    )
    vae = trained.vae
    progress("measure latents", 0, 1)
    latents = autoencoder.encode(vae, data.floats(slice(None)))
    vae.register_to_config(scaling_factor=autoencoder.measure_scale(latents))
    progress("measure latents", 1, 1)
    return vae, log


def train_pipeline(
    config: Config, vae: AutoencoderKL, data: ImageSet, runtime: Runtime, progress: Progress
) -> tuple[StableDiffusionPipeline, TrainLog]:
    """Text encoder and UNet trained together on the VAE's scaled latents, assembled into the pipeline."""
    from diffusers.pipelines.stable_diffusion.pipeline_stable_diffusion import StableDiffusionPipeline
    from diffusers.schedulers.scheduling_ddim import DDIMScheduler

    torch.manual_seed(config.seed)
    with tempfile.TemporaryDirectory() as folder:  # read at once; save_pretrained writes them with the pipeline
        tokenizer = text.make_tokenizer(Path(folder), CAPTION_WORDS, PROMPT_LENGTH)
    text_encoder = text.make_text_encoder(
        tokenizer, config.text_width, config.text_layers, heads=max(1, config.text_width // 32)
    )
    latent_size = config.image_size // autoencoder.factor(vae)
    unet = make_unet(config, config.latent_channels, latent_size)
    progress("encode latents", 0, 1)
    scaled = autoencoder.encode(vae, data.floats(slice(None))) * vae.config["scaling_factor"]
    ids = text.token_ids(tokenizer, captions(data)).to(runtime.device)
    progress("encode latents", 1, 1)
    scheduler = make_training_scheduler(config)
    empty = text.token_ids(tokenizer, [""])
    model, log = train(
        TextConditionedUNet(unet, text_encoder),
        latent_loss(scheduler, config.caption_dropout, empty),
        Latents(scaled, ids),
        _unet_schedule(config),
        runtime,
        config.seed + 3,
        progress,
        "train UNet + text encoder",
    )
    pipeline = StableDiffusionPipeline(
        vae=vae,
        text_encoder=model.text_encoder,
        tokenizer=tokenizer,
        unet=model.unet,
        # SD 1.x's sampler settings; the pipeline would otherwise change them itself, with a warning.
        scheduler=DDIMScheduler.from_config(scheduler.config, clip_sample=False, steps_offset=1),
        # None is how diffusers documents leaving these out; its annotations do not admit it
        safety_checker=None,  # type: ignore[arg-type]
        feature_extractor=None,  # type: ignore[arg-type]
        requires_safety_checker=False,
    )
    return pipeline, log


def _unet_schedule(config: Config) -> Schedule:
    return Schedule(
        config.epochs, config.latent_batch_size, config.learning_rate, config.lr_schedule, config.warmup_steps
    )


@dataclass
class Models:
    pipeline: Any  # StableDiffusionPipeline on the device, its progress bar off
    judge: classifier.DigitClassifier
    training: dict[str, Any]


def pretrained_models(config: Config, runtime: Runtime, progress: Progress) -> Models:
    """VAE, pipeline and judge from the model cache, each trained first where it is missing (or `retrain`)."""
    from diffusers import AutoencoderKL, StableDiffusionPipeline

    @functools.cache
    def data() -> ImageSet:
        progress("load data", 0, 1)
        images = load_images(
            config.dataset, config.image_size, config.train_images, config.seed, runtime.device, split="train"
        )
        progress("load data", 1, 1)
        return images

    def summary(log: TrainLog) -> dict[str, Any]:
        return {**log.summary(), "final_loss": final_loss(log)}

    stored = {"retrain": config.retrain, "store": runtime.is_main_process}

    def train_pipeline_now() -> tuple[Any, dict[str, Any]]:
        vae, vae_info = cache.get_or_train(VAE_KIND, vae_settings(config), AutoencoderKL, train_vae_now, **stored)
        training["vae"] = vae_info
        pipeline, log = train_pipeline(config, vae.to(runtime.device).eval(), data(), runtime, progress)
        return pipeline, summary(log)

    def train_vae_now() -> tuple[Any, dict[str, Any]]:
        vae, log = train_vae(config, data(), runtime, progress)
        return vae, summary(log)

    def train_judge_now() -> tuple[Any, dict[str, Any]]:
        judge, log = train_judge(config, data(), runtime, progress)
        return judge, log.summary()

    training: dict[str, Any] = {}
    pipeline, training["pipeline"] = cache.get_or_train(
        PIPELINE_KIND, pipeline_settings(config), StableDiffusionPipeline, train_pipeline_now, **stored
    )
    judge, training["classifier"] = cache.get_or_train(
        CLASSIFIER_KIND,
        judge_settings(config),
        classifier.DigitClassifier,
        train_judge_now,
        **stored,
    )
    pipeline = pipeline.to(runtime.device)
    pipeline.set_progress_bar_config(disable=True)
    return Models(pipeline, judge.to(runtime.device).eval(), training)


# --- the demo ----------------------------------------------------------------------------------


def run(config: Config, out_dir: Path, progress: Progress) -> Result:
    runtime = resolve(config.device, config.precision, config.compile)
    text.quiet()

    # 1-4. VAE, text encoder + UNet, judge: from the cache, or trained now.
    models = pretrained_models(config, runtime, progress)
    if not runtime.is_main_process:
        return Result()
    pipe = models.pipeline

    # 5. The pipeline, saved as the course's pipelines are, and what it was built from.
    progress("save pipeline", 0, 1)
    pipeline_dir = out_dir / "sd-pipeline"
    pipe.save_pretrained(pipeline_dir)
    progress("save pipeline", 1, 1)

    # 6. The VAE: reconstructions of held-out digits, compression, the latents' scale.
    progress("measure the VAE", 0, 1)
    test = load_images(
        config.dataset, config.image_size, config.test_images, config.seed + 1, runtime.device, split="test"
    )
    real = test.floats(slice(None))
    vae = pipe.vae
    latents = autoencoder.encode(vae, real)
    reconstructed = autoencoder.decode(vae, latents)
    shape = autoencoder.compression(vae, config.image_size)
    scale = vae.config.scaling_factor
    vae_metrics = {
        "psnr_db": autoencoder.psnr(reconstructed, real),
        "factor_per_side": shape.per_side,
        "image_shape": shape.image_shape,
        "latent_shape": shape.latent_shape,
        "pixel_values_per_latent_value": shape.values_per_latent,
        "sd_1x_pixel_values_per_latent_value": 512 * 512 * 3 / (64 * 64 * 4),
        "latent_std": latents.std().item(),
        "scaling_factor": scale,
        "scaled_latent_std": (latents * scale).std().item(),
    }
    progress("measure the VAE", 1, 1)

    # 7. One denoising step in pixel space against latent space.
    step_cost = _step_cost(config, pipe, runtime, progress)

    # 8. Does the UNet use the text? Its loss on held-out latents with their captions, others' and none;
    # then text guidance: each digit's prompt at every scale, from the same noise.
    text_dependence = _text_dependence(config, pipe, latents * scale, captions(test), runtime)
    _, real_features = classifier.judge(models.judge, real)
    sweep, sweep_samples = _guidance_sweep(config, pipe, models.judge, runtime, progress)
    unguided = _sample(
        pipe, [""] * len(sweep_samples[config.guidance_scales[0]]), 1.0, config, runtime, progress, "sample, no prompt"
    )
    no_prompt = _scores(models.judge, unguided, _wanted(config, runtime))

    # 9. Stroke words and negative prompts; img2img; a size the pipeline refuses.
    encoding = _encoding(pipe, runtime)
    prompt_rows, prompt_samples = _prompt_effects(config, pipe, models.judge, runtime, progress)
    img2img_rows, img2img_samples, sources = _img2img(config, pipe, models.judge, test, runtime, progress)
    size_errors = _size_errors(config, pipe)

    # 10. Figures.
    progress("figures", 0, 5)
    files = [
        _latent_figure(
            real[:8], latents[:8], reconstructed[:8], vae_metrics, size_errors, out_dir / "latent_space.png"
        ),
        _cost_figure(step_cost, out_dir / "step_cost.png"),
        _guidance_figure(
            config,
            sweep,
            sweep_samples,
            no_prompt,
            classifier.accuracy(classifier.judge(models.judge, real)[0], test.labels),
            text_dependence,
            out_dir / "text_guidance.png",
        ),
        _prompts_figure(config, prompt_rows, prompt_samples, encoding, out_dir / "prompts.png"),
        _img2img_figure(config, img2img_rows, img2img_samples, sources, out_dir / "img2img_strength.png"),
    ]
    progress("figures", 5, 5)

    real_accuracy = classifier.accuracy(classifier.judge(models.judge, real)[0], test.labels)
    metrics = {
        "models": models.training,
        "parameters": {
            name: sum(p.numel() for p in getattr(pipe, name).parameters()) for name in ("vae", "text_encoder", "unet")
        },
        "vae": vae_metrics,
        "step_cost": step_cost,
        "text_dependence": text_dependence,
        "classifier_test_accuracy": real_accuracy,
        "real_diversity": _diversity(real_features, test.labels),
        "guidance_sweep": sweep,
        "no_prompt": no_prompt,
        "text_encoding": encoding,
        "prompts": prompt_rows,
        "img2img": img2img_rows,
        "size_errors": size_errors,
        "pipeline": str(pipeline_dir),
    }
    best = max(sweep, key=lambda row: row["accuracy"])
    summary = [
        (
            f"VAE: {shape.image_shape} -> {shape.latent_shape}, {shape.values_per_latent:g} pixel values per latent "
            f"value (SD 1.x: 48), PSNR {vae_metrics['psnr_db']:.1f} dB; latent std {vae_metrics['latent_std']:.3f}, "
            f"scaling_factor {scale:.4f}"
        ),
        (
            f"One UNet step: pixels {step_cost['pixel']['seconds'] * 1e3:.1f} ms / {step_cost['pixel']['gflops']:.2f} "
            f"GFLOP, latents {step_cost['latent']['seconds'] * 1e3:.1f} ms / {step_cost['latent']['gflops']:.2f} GFLOP"
        ),
        _dependence_line(text_dependence),
        "scale  prompt accuracy  diversity",
        *(f"{r['scale']:>5g}  {r['accuracy']:>15.0%}  {r['diversity']:>9.2f}" for r in sweep),
        (
            f"no prompt: {no_prompt['accuracy']:.0%}; judge on real digits: {real_accuracy:.0%}; "
            f"best scale {best['scale']:g}"
        ),
        f"Size errors: {next(iter(size_errors.values()))}",
        f"Load the pipeline: StableDiffusionPipeline.from_pretrained('{pipeline_dir}')",
    ]
    return Result(files=[*files, pipeline_dir], metrics=metrics, summary=summary)


@torch.no_grad()
def _text_dependence(
    config: Config, pipe: Any, latents: torch.Tensor, prompts: list[str], runtime: Runtime
) -> dict[str, float]:
    """The noise-prediction loss on scaled latents with their own captions, with the captions shuffled, and with
    the empty prompt (the same noise and timesteps): the gap is what the UNet takes from the text."""
    generator = torch.Generator(runtime.device).manual_seed(config.seed)
    scheduler = make_training_scheduler(config)
    noise = torch.randn(latents.shape, generator=generator, device=runtime.device)
    t = torch.randint(0, config.num_train_timesteps, (len(latents),), generator=generator, device=runtime.device)
    noisy = scheduler.add_noise(latents, noise, t)
    ids = text.token_ids(pipe.tokenizer, prompts).to(runtime.device)
    shuffled = ids[torch.randperm(len(ids), generator=generator, device=runtime.device)]
    empty = text.token_ids(pipe.tokenizer, [""]).to(runtime.device).expand_as(ids)
    model = TextConditionedUNet(pipe.unet, pipe.text_encoder)
    with runtime.autocast():
        return {
            name: F.mse_loss(model(noisy, t, given).float(), noise).item()
            for name, given in (("right", ids), ("shuffled", shuffled), ("empty", empty))
        }


def _dependence_line(losses: dict[str, float]) -> str:
    return (
        f"the UNet's loss on held-out latents: {losses['right']:.4f} with their captions, {losses['shuffled']:.4f} "
        f"with shuffled ones, {losses['empty']:.4f} with the empty prompt"
    )


@torch.no_grad()
def _encoding(pipe: Any, runtime: Runtime, prompt: str = "a thick slanted seven") -> dict[str, Any]:
    """What the pipeline makes of one prompt: CLIP tokens, their ids, and the shape the UNet attends to."""
    ids = text.token_ids(pipe.tokenizer, [prompt])
    hidden = pipe.text_encoder(ids.to(runtime.device))[0]
    return {
        "prompt": prompt,
        "tokens": pipe.tokenizer.convert_ids_to_tokens(ids[0].tolist()),
        "ids": ids[0].tolist(),
        "hidden_shape": list(hidden.shape),
    }


def _wanted(config: Config, runtime: Runtime) -> torch.Tensor:
    return torch.arange(CLASSES, device=runtime.device).repeat_interleave(config.samples_per_prompt)


def _sample(
    pipe: Any,
    prompts: list[str],
    scale: float,
    config: Config,
    runtime: Runtime,
    progress: Progress,
    stage: str,
    negative: list[str] | None = None,
) -> torch.Tensor:
    """Images in [0, 1] from the pipeline, the same starting noise and step noise for every call."""
    progress(stage, 0, 1)
    generator = torch.Generator(runtime.device).manual_seed(config.seed)
    with runtime.autocast():
        images = pipe(
            prompts,
            negative_prompt=negative,
            guidance_scale=scale,
            num_inference_steps=config.sampling_steps,
            eta=config.eta,
            generator=generator,
            output_type="pt",
        ).images
    progress(stage, 1, 1)
    return images.float().mean(dim=1, keepdim=True)  # the pipeline's images are 1-channel already; keep (N, 1, H, W)


def _scores(judge: Any, images: torch.Tensor, wanted: torch.Tensor) -> dict[str, Any]:
    predicted, features = classifier.judge(judge, images)
    return {
        "accuracy": classifier.accuracy(predicted, wanted),
        "diversity": _diversity(features, wanted),
        "ink": images.mean().item(),
    }


def _diversity(features: torch.Tensor, classes: torch.Tensor) -> float:
    """Mean pairwise feature distance within each digit, averaged over the digits present."""
    present = [c for c in range(CLASSES) if (classes == c).sum() > 1]
    return statistics.fmean(classifier.mean_pairwise_distance(features[classes == c]) for c in present)


def _guidance_sweep(
    config: Config, pipe: Any, judge: Any, runtime: Runtime, progress: Progress
) -> tuple[list[dict[str, Any]], dict[float, torch.Tensor]]:
    wanted = _wanted(config, runtime)
    prompts = [f"a {DIGIT_WORDS[d]}" for d in wanted.tolist()]
    rows, samples = [], {}
    for scale in config.guidance_scales:
        samples[scale] = _sample(pipe, prompts, scale, config, runtime, progress, f"sample, scale {scale:g}")
        rows.append({"scale": scale, **_scores(judge, samples[scale], wanted)})
    return rows, samples


def _prompt_effects(
    config: Config, pipe: Any, judge: Any, runtime: Runtime, progress: Progress
) -> tuple[list[dict[str, Any]], list[torch.Tensor]]:
    """Stroke words in the prompt and in the negative prompt (ink per image; still the right digit?), and a negative
    prompt alone. Each row's `accuracy` is the share of samples judged the digit {d} its prompts name: for the
    empty prompt with the negative "a {d}", how often the digit to avoid still comes out."""
    wanted = _wanted(config, runtime)
    digits = [DIGIT_WORDS[d] for d in wanted.tolist()]
    settings = [
        ("a {d}", ""),
        ("a thick {d}", ""),
        ("a thin {d}", ""),
        ("a {d}", "a thin {d}"),
        ("a {d}", "a thick {d}"),
        ("", "a {d}"),
    ]
    rows, samples = [], []
    for prompt, negative in settings:
        stage = f"sample '{prompt}'" + (f" not '{negative}'" if negative else "")
        images = _sample(
            pipe,
            [prompt.format(d=d) for d in digits],
            config.guidance_scale,
            config,
            runtime,
            progress,
            stage,
            negative=[negative.format(d=d) for d in digits],
        )
        samples.append(images)
        rows.append({"prompt": prompt, "negative_prompt": negative, **_scores(judge, images, wanted)})
    return rows, samples


def _img2img(
    config: Config, pipe: Any, judge: Any, test: ImageSet, runtime: Runtime, progress: Progress
) -> tuple[list[dict[str, Any]], list[torch.Tensor], torch.Tensor]:
    """One held-out digit of each class, redrawn as the next digit ("a one" for a zero, ...) at each strength."""
    from diffusers import StableDiffusionImg2ImgPipeline

    img2img: Any = StableDiffusionImg2ImgPipeline(**pipe.components)
    img2img.set_progress_bar_config(disable=True)
    chosen = test.of_classes(range(CLASSES), 1)
    sources = chosen.floats(slice(None))
    targets = (chosen.labels + 1) % CLASSES
    prompts = [f"a {DIGIT_WORDS[d]}" for d in targets.tolist()]
    rows, samples = [], []
    for strength in config.strengths:
        stage = f"img2img, strength {strength:g}"
        progress(stage, 0, 1)
        generator = torch.Generator(runtime.device).manual_seed(config.seed)
        with runtime.autocast():
            images = img2img(
                prompts,
                image=sources,
                strength=strength,
                guidance_scale=config.guidance_scale,
                num_inference_steps=config.sampling_steps,
                eta=config.eta,
                generator=generator,
                output_type="pt",
            ).images.float()
        progress(stage, 1, 1)
        predicted, _ = classifier.judge(judge, images)
        samples.append(images)
        rows.append(
            {
                "strength": strength,
                "denoising_steps": int(config.sampling_steps * strength),
                "still_source_digit": classifier.accuracy(predicted, chosen.labels),
                "became_prompt_digit": classifier.accuracy(predicted, targets),
                "psnr_to_source_db": autoencoder.psnr(images, sources),
            }
        )
    return rows, samples, sources


def _size_errors(config: Config, pipe: Any) -> dict[str, str]:
    """What the pipeline says to sizes it cannot take: one not a multiple of the VAE's factor, one that is
    a multiple of it but not of 8 (the pipeline checks SD's factor, 8, whatever the VAE's)."""
    down = autoencoder.factor(pipe.vae)
    errors = {}
    for size in (config.image_size + down // 2, config.image_size + down):
        if size % 8 == 0:
            continue
        try:
            pipe("a one", height=size, width=size, num_inference_steps=1, output_type="pt")
            errors[f"{size}x{size}"] = "accepted"
        except ValueError as exc:
            errors[f"{size}x{size}"] = str(exc)
    return errors


def _step_cost(config: Config, pipe: Any, runtime: Runtime, progress: Progress) -> dict[str, Any]:
    """Seconds and FLOPs of one UNet forward pass on pixels and on latents, with the same UNet widths, for a
    batch of `COST_BATCH` (eight prompts, guided: doubled); and one VAE decode of theirs, paid once per sample."""
    batch = COST_BATCH
    size, latent = config.image_size, config.image_size // autoencoder.factor(pipe.vae)
    context = torch.zeros(batch, PROMPT_LENGTH, config.text_width, device=runtime.device)
    t = torch.full((batch,), 500, device=runtime.device)
    pixel_unet = on_device(make_unet(config, 1, size), runtime.device).eval()
    cases = {
        "pixel": (pixel_unet, torch.randn(batch, 1, size, size, device=runtime.device)),
        "latent": (pipe.unet, torch.randn(batch, config.latent_channels, latent, latent, device=runtime.device)),
    }
    result: dict[str, Any] = {"batch": batch}
    for name, (unet, x) in cases.items():
        progress("time one step", 0, 1, name)
        forward = functools.partial(unet, x, t, encoder_hidden_states=context)
        result[name] = {"input": list(x.shape[1:]), **_timed(forward, runtime)}
    decoded = torch.randn(batch // 2, config.latent_channels, latent, latent, device=runtime.device)
    result["vae_decode"] = {
        "input": list(decoded.shape[1:]),
        **_timed(functools.partial(pipe.vae.decode, decoded), runtime),
    }
    result["speedup_seconds"] = result["pixel"]["seconds"] / result["latent"]["seconds"]
    result["speedup_flops"] = result["pixel"]["gflops"] / result["latent"]["gflops"]
    result["sampling_steps"] = config.sampling_steps
    progress("time one step", 1, 1)
    return result


@torch.no_grad()
def _timed(forward: Any, runtime: Runtime, repeats: int = 3) -> dict[str, float]:
    """The median seconds of `forward()` (after one warm-up call) and its FLOPs as torch counts them."""
    from torch.utils.flop_counter import FlopCounterMode

    with runtime.autocast():
        counter = FlopCounterMode(display=False)
        with counter:
            forward()
        seconds = []
        for _ in range(repeats):
            started = time.perf_counter()
            forward()
            if runtime.device.type == "cuda":
                torch.cuda.synchronize(runtime.device)  # the kernels were only queued
            seconds.append(time.perf_counter() - started)
    return {"seconds": statistics.median(seconds), "gflops": counter.get_total_flops() / 1e9}


# --- figures -----------------------------------------------------------------------------------


def _latent_figure(
    real: torch.Tensor,
    latents: torch.Tensor,
    reconstructed: torch.Tensor,
    measured: dict[str, Any],
    size_errors: dict[str, str],
    path: Path,
) -> Path:
    import matplotlib.pyplot as plt

    channels = latents.shape[1]
    shown = latents.transpose(0, 1).flatten(0, 1).unsqueeze(1)  # channel by channel
    shown = (shown - shown.min()) / (shown.max() - shown.min() + 1e-8)
    figure, axes = plt.subplots(1, 4, figsize=(15, 3.8), gridspec_kw={"width_ratios": [1, 1, 1, 1.3]})
    panels = (
        ("held-out digits", real, 8),
        (f"latents ({channels} channels, rows), {tuple(latents.shape[1:])}", shown, 8),
        (f"decoded: PSNR {measured['psnr_db']:.1f} dB", reconstructed, 8),
    )
    # zip(strict=False): the fourth axis holds the loss curve, drawn below
    for ax, (title, images, columns) in zip(axes, panels, strict=False):
        ax.imshow(tile(images, columns=columns), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        ax.set_title(title, fontsize=9)
        ax.set_axis_off()
    errors = "\n".join(f"{size}: {message}" for size, message in size_errors.items())
    axes[3].set_axis_off()
    axes[3].text(
        0,
        1,
        (
            f"image {tuple(measured['image_shape'])} -> latents {tuple(measured['latent_shape'])}\n"
            f"{measured['factor_per_side']}x smaller per side; "
            f"{measured['pixel_values_per_latent_value']:g} pixel values "
            f"per latent value\n(SD 1.x: 512x512x3 -> 64x64x4, {measured['sd_1x_pixel_values_per_latent_value']:g})\n\n"
            f"latent std {measured['latent_std']:.3f}; scaling_factor = 1/std = {measured['scaling_factor']:.4f}\n"
            f"(SD 1.x: 0.18215); scaled std on held-out digits {measured['scaled_latent_std']:.2f}\n\n"
            f"Other sizes:\n{_wrap(errors, 60)}"
        ),
        va="top",
        fontsize=8.5,
        family="monospace",
        transform=axes[3].transAxes,
    )
    figure.suptitle("The VAE of latent diffusion: what the UNet sees instead of pixels", fontsize=10)
    figure.tight_layout()
    return save_figure(figure, path)


def _wrap(text_: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.fill(line, width, subsequent_indent="  ") for line in text_.splitlines())


def _cost_figure(cost: dict[str, Any], path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(10, 3.6))
    names = [
        f"pixels\n{tuple(cost['pixel']['input'])}",
        f"latents\n{tuple(cost['latent']['input'])}",
        "VAE decode\n(once per sample)",
    ]
    for ax, key, label, factor in ((axes[0], "seconds", "milliseconds", 1e3), (axes[1], "gflops", "GFLOP", 1)):
        values = [cost["pixel"][key] * factor, cost["latent"][key] * factor, cost["vae_decode"][key] * factor]
        bars = ax.bar(names, values, color=["tab:red", "tab:blue", "tab:grey"])
        ax.bar_label(bars, fmt="%.3g", fontsize=8)
        ax.set_ylabel(label)
    axes[0].set_title(
        f"one UNet step, batch {cost['batch']}: {cost['speedup_seconds']:.1f}x faster on latents", fontsize=9
    )
    axes[1].set_title(f"the same step counted in FLOPs: {cost['speedup_flops']:.1f}x fewer", fontsize=9)
    figure.suptitle(
        f"Why latent diffusion: the same UNet widths on pixels and on latents; a sample takes "
        f"{cost['sampling_steps']} steps (x2 with guidance) and one decode",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _guidance_figure(
    config: Config,
    sweep: list[dict[str, Any]],
    samples: dict[float, torch.Tensor],
    no_prompt: dict[str, Any],
    real_accuracy: float,
    dependence: dict[str, float],
    path: Path,
) -> Path:
    import matplotlib.pyplot as plt

    shown = min(4, config.samples_per_prompt)
    figure, axes = plt.subplots(
        1,
        len(sweep) + 2,
        figsize=(2.2 * len(sweep) + 8, 3.8),
        gridspec_kw={"width_ratios": [1] * len(sweep) + [2.2, 2.2]},
    )
    # zip(strict=False): the last two axes hold the plots drawn below
    for ax, row in zip(axes, sweep, strict=False):
        images = samples[row["scale"]].view(CLASSES, config.samples_per_prompt, *samples[row["scale"]].shape[1:])
        ax.imshow(
            tile(images[:, :shown].flatten(0, 1), columns=shown), cmap="gray", vmin=0, vmax=255, interpolation="nearest"
        )
        ax.set_title(f"scale {row['scale']:g}\naccuracy {row['accuracy']:.0%}", fontsize=9)
        ax.set_axis_off()
    scales = [row["scale"] for row in sweep]
    accuracy_ax, diversity_ax = axes[-2], axes[-1]
    accuracy_ax.plot(scales, [100 * row["accuracy"] for row in sweep], "o-", label="prompt 'a seven' etc.")
    accuracy_ax.axhline(100 * no_prompt["accuracy"], color="tab:orange", linestyle=":", label="no prompt")
    accuracy_ax.axhline(100 * real_accuracy, color="grey", linestyle="--", label="judge on real digits")
    accuracy_ax.set(xlabel="guidance scale", ylabel="% judged the prompt's digit", ylim=(0, 105))
    diversity_ax.plot(scales, [row["diversity"] for row in sweep], "o-", color="tab:green")
    diversity_ax.set(xlabel="guidance scale", ylabel="diversity (feature distance)")
    diversity_ax.set_ylim(0, 1.15 * max(row["diversity"] for row in sweep))
    accuracy_ax.legend(fontsize=7)
    figure.suptitle(
        f"Text guidance in StableDiffusionPipeline: rows = prompts 'a zero' to 'a nine', "
        f"{config.samples_per_prompt} samples each, {config.sampling_steps} DDIM steps, the same noise "
        "in every panel (scale 1 = no guidance)\n" + _dependence_line(dependence),
        fontsize=9,
    )
    figure.tight_layout()
    return save_figure(figure, path)


def _prompts_figure(
    config: Config, rows: list[dict[str, Any]], samples: list[torch.Tensor], encoding: dict[str, Any], path: Path
) -> Path:
    import matplotlib.pyplot as plt

    shown = min(3, config.samples_per_prompt)
    figure, axes = plt.subplots(
        1, len(rows) + 1, figsize=(2.3 * len(rows) + 3.5, 4), gridspec_kw={"width_ratios": [1] * len(rows) + [2]}
    )
    # zip(strict=False): the last axis holds the plot drawn below
    for ax, row, images in zip(axes, rows, samples, strict=False):
        grid = images.view(CLASSES, config.samples_per_prompt, *images.shape[1:])[:, :shown].flatten(0, 1)
        ax.imshow(tile(grid, columns=shown), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
        negative = f"\nnegative '{row['negative_prompt']}'" if row["negative_prompt"] else "\n"
        judged = "{d} judged" if row["prompt"] else "{d} still"
        ax.set_title(f"'{row['prompt']}'{negative}\nink {row['ink']:.3f}, {judged} {row['accuracy']:.0%}", fontsize=8)
        ax.set_axis_off()
    labels = [
        (row["prompt"] or "''").replace("{d}", "…")
        + (f"\nnot {row['negative_prompt'].replace('{d}', '…')}" if row["negative_prompt"] else "")
        for row in rows
    ]
    bars = axes[-1].barh(range(len(rows)), [row["ink"] for row in rows], color="tab:blue")
    axes[-1].bar_label(bars, fmt="%.3f", fontsize=8)
    axes[-1].set_yticks(range(len(rows)), labels, fontsize=8)
    axes[-1].invert_yaxis()
    axes[-1].set_xlabel("ink: mean pixel value")
    figure.suptitle(
        f"Prompts and negative prompts (guidance scale {config.guidance_scale:g}, the same noise in every "
        "panel): the negative prompt replaces the empty prompt of the unconditional prediction, and the "
        "sample is pushed away from it",
        fontsize=9,
    )
    figure.text(
        0.01,
        0.02,
        f"tokenizer('{encoding['prompt']}'): {encoding['tokens']}\n  = input_ids "
        f"{encoding['ids']};  text_encoder(input_ids)[0], the UNet's encoder_hidden_states: shape "
        f"{tuple(encoding['hidden_shape'])} (SD 1.x: (1, 77, 768))",
        fontsize=8,
        family="monospace",
    )
    figure.tight_layout(rect=(0, 0.1, 1, 1))
    return save_figure(figure, path)


def _img2img_figure(
    config: Config, rows: list[dict[str, Any]], samples: list[torch.Tensor], sources: torch.Tensor, path: Path
) -> Path:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1.4, 1]})
    grid = torch.cat([sources, *samples])
    axes[0].imshow(tile(grid, columns=CLASSES), cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes[0].set_yticks(
        [2 + (i + 0.5) * (sources.shape[-1] + 2) for i in range(len(rows) + 1)],
        ["input", *(f"strength {row['strength']:g}" for row in rows)],
        fontsize=8,
    )
    axes[0].set_xticks([])
    axes[0].set_title("held-out digits 0-9, prompted as the next digit ('a one' for the zero, ...)", fontsize=9)
    strengths = [row["strength"] for row in rows]
    axes[1].plot(strengths, [100 * row["still_source_digit"] for row in rows], "o-", label="still the input's digit")
    axes[1].plot(strengths, [100 * row["became_prompt_digit"] for row in rows], "o-", label="the prompt's digit")
    axes[1].set(
        xlabel="strength (share of the steps run; noise added up to that point)", ylabel="% judged", ylim=(-5, 105)
    )
    axes[1].legend(fontsize=8)
    figure.suptitle(
        f"StableDiffusionImg2ImgPipeline from the same parts: guidance {config.guidance_scale:g}, "
        f"{config.sampling_steps} steps at strength 1",
        fontsize=10,
    )
    figure.tight_layout()
    return save_figure(figure, path)
