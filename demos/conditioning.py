"""The class-conditioned digit models that cfg and ddim-inversion share, kept in the model cache.

Both demos use the same two trained models: a `UNet2DModel` with a learned embedding per digit
and a null class (trained with label dropout, so one network predicts the noise both with and
without a label: what classifier-free guidance needs), and the small CNN that judges samples
(`classifier.py`). `ModelConfig` holds every setting that decides them; both demos' configs
extend it, so the same model options give the same cache entries (`cache.py`), whichever demo
trained them. `pretrained_models` gets them from the cache, training and storing what is missing.

Two ways to give a UNet its class, both here:
- diffusers' (`num_class_embeds`): a learned vector per class is added to the timestep embedding,
  so the label reaches every ResNet block the way the timestep does;
- the course's (unit 2, `CourseConditionedUnet`): `nn.Embedding(10, 4)` turns the label into 4
  numbers, broadcast to every pixel and concatenated to the noisy image as 4 extra input channels
  (`UNet2DModel(in_channels=1 + 4)`). The label enters once, at the first convolution, and there
  is no null class: no classifier-free guidance.
cfg trains both on the same data with the same settings (`pretrained_models(..., course=True)`).
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal, Protocol

import torch
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from . import cache, classifier
from .base import Progress
from .config import at_least, halvable, positive, require, unet_widths
from .data import DatasetName, ImageSet, load_images
from .device import CompileRequest, DeviceRequest, PrecisionRequest, Runtime
from .noising import noise_loss
from .training import LossFn, Schedule, TrainLog, train
from .unets import ddpm_pipeline, make_scheduler, make_unet2d, parameters

if TYPE_CHECKING:
    from diffusers.models.unets.unet_2d import UNet2DOutput
    from diffusers.pipelines.ddpm.pipeline_ddpm import DDPMPipeline
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

CLASSES = 10
CLASS_EMB_SIZE = 4  # the course's class_emb_size
UNET_KIND, CLASSIFIER_KIND, COURSE_KIND = "cfg-unet", "digit-classifier", "course-class-unet"
CLASSIFIER_LR = 2e-3


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
    unet_channels: tuple[int, ...] = field(
        default=(32, 64, 64), metadata={"help": "UNet block widths (multiples of 8)"}
    )
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
        at_least(
            self,
            1,
            "train_images",
            "epochs",
            "batch_size",
            "layers_per_block",
            "num_train_timesteps",
            "classifier_epochs",
        )
        at_least(self, 0, "warmup_steps", "guidance_scale", "seed")
        positive(self, "learning_rate")
        require(
            0 < self.label_dropout < 1,
            f"--label-dropout {self.label_dropout}: must be between 0 and 1 (the null class must be trained)",
        )
        unet_widths(self.unet_channels)
        halvable(self.image_size, len(self.unet_channels) - 1)


# The quick preset's models: 16x16 digits, a narrow UNet with attention only in its middle block
# (three times faster on a CPU), three epochs: cfg trains two of them (diffusers' conditioning and
# the course's) within its minute.
QUICK_MODEL: dict[str, Any] = {
    "image_size": 16,
    "train_images": 3_072,
    "epochs": 3,
    "batch_size": 32,
    "learning_rate": 4e-3,
    "warmup_steps": 10,
    "unet_channels": (16, 32, 32),
    "layers_per_block": 1,
    "attention": False,
    "classifier_epochs": 3,
}
RUN_ONLY = {"device", "compile", "retrain", "guidance_scale"}  # not part of the cache keys
JUDGE_SETTINGS = ("dataset", "image_size", "train_images", "batch_size", "classifier_epochs", "precision", "seed")


def unet_settings(config: ModelConfig) -> dict[str, Any]:
    """The settings that decide the UNet's trained weights: its cache key."""
    return {
        f.name: getattr(config, f.name)
        for f in dataclasses.fields(ModelConfig)
        if f.name not in RUN_ONLY and f.name != "classifier_epochs"
    }


def course_settings(config: ModelConfig) -> dict[str, Any]:
    """The cache key of the course's model: the UNet's, less the label dropout it does not use."""
    return {name: value for name, value in unet_settings(config).items() if name != "label_dropout"}


class JudgeConfig(Protocol):
    """The fields of a demo's config that decide the classifier's weights (cfg's and latent-diffusion's configs)."""

    @property
    def dataset(self) -> DatasetName: ...
    @property
    def image_size(self) -> int: ...
    @property
    def train_images(self) -> int: ...
    @property
    def batch_size(self) -> int: ...
    @property
    def classifier_epochs(self) -> int: ...
    @property
    def precision(self) -> PrecisionRequest: ...
    @property
    def seed(self) -> int: ...


def judge_settings(config: JudgeConfig) -> dict[str, Any]:
    """The settings that decide the classifier's trained weights: its cache key."""
    return {name: getattr(config, name) for name in JUDGE_SETTINGS}


@dataclass
class Models:
    unet: Any  # UNet2DModel, num_class_embeds = CLASSES + 1 (the last is the null class), on the device
    scheduler: Any  # the DDPMScheduler it was trained with (DDIM schedulers are built from its config)
    classifier: classifier.DigitClassifier
    training: dict[str, Any]  # per model: where it is cached, whether this run trained it, its training figures
    course_unet: CourseConditionedUnet | None = None  # with `course=True`, on the device


# diffusers' own models mix these two: ModelMixin's config_name is a str, ConfigMixin's is None
class CourseConditionedUnet(ModelMixin, ConfigMixin):  # type: ignore[misc]
    """Unit 2's `ClassConditionedUnet`: a `UNet2DModel` with `1 + class_emb_size` input channels, the
    image and its class embedding broadcast to every pixel. Called like a diffusers UNet,
    `model(x, t, class_labels=labels).sample`, so the same loss and samplers serve both models.
    `unet` is the inner `UNet2DModel`'s config (saved with the weights, so `from_pretrained` rebuilds it)."""

    @register_to_config
    def __init__(self, unet: dict[str, Any], num_classes: int = CLASSES, class_emb_size: int = CLASS_EMB_SIZE):
        from diffusers.models.unets.unet_2d import UNet2DModel

        super().__init__()
        self.class_emb = nn.Embedding(num_classes, class_emb_size)
        self.model = UNet2DModel.from_config(unet)

    @classmethod
    def of(cls, config: ModelConfig) -> CourseConditionedUnet:
        """The course's model with the UNet of `config` (its widths, depth, attention)."""
        inner = make_unet2d(config, in_channels=1 + CLASS_EMB_SIZE)
        return cls(dict(inner.config))

    def forward(self, x: torch.Tensor, t: torch.Tensor, class_labels: torch.Tensor) -> UNet2DOutput:
        bs, _, h, w = x.shape
        class_cond = self.class_emb(class_labels).view(bs, -1, 1, 1).expand(bs, -1, h, w)  # (bs, 4, h, w)
        return self.model(torch.cat((x, class_cond.to(x.dtype)), 1), t)


def guidance_loss(scheduler: DDPMScheduler, label_dropout: float) -> LossFn:
    """The noise-prediction objective with labels, a share `label_dropout` of them dropped to the null
    class (0 keeps every label: the course's model has no null class)."""
    plain = noise_loss(scheduler)

    def loss(model: Any, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        if label_dropout:
            dropped = torch.rand(len(labels), generator=generator, device=labels.device) < label_dropout
            labels = labels.masked_fill(dropped, CLASSES)
        return plain(functools.partial(model, class_labels=labels), images, labels, generator)

    return loss


def train_unet(
    config: ModelConfig, data: ImageSet, runtime: Runtime, progress: Progress
) -> tuple[DDPMPipeline, TrainLog]:
    """The class-conditioned UNet; returns (DDPMPipeline, TrainLog)."""

    torch.manual_seed(config.seed)
    scheduler = make_scheduler(config)
    unet = make_unet2d(config, num_class_embeds=CLASSES + 1)
    unet, log = train(
        unet,
        guidance_loss(scheduler, config.label_dropout),
        data,
        Schedule.of(config),
        runtime,
        config.seed,
        progress,
        "train UNet",
    )
    return ddpm_pipeline(unet, scheduler), log


def train_course_unet(
    config: ModelConfig, data: ImageSet, runtime: Runtime, progress: Progress
) -> tuple[CourseConditionedUnet, TrainLog]:
    """The course's class-conditioned UNet, trained like `train_unet`'s (same data, schedule, seed) but
    with every label kept."""
    torch.manual_seed(config.seed)
    model, log = train(
        CourseConditionedUnet.of(config),
        guidance_loss(make_scheduler(config), 0.0),
        data,
        Schedule.of(config),
        runtime,
        config.seed,
        progress,
        "train course's UNet",
    )
    return model, log


def train_judge(
    config: JudgeConfig, data: ImageSet, runtime: Runtime, progress: Progress
) -> tuple[classifier.DigitClassifier, TrainLog]:
    """The digit classifier that judges samples; returns (DigitClassifier, TrainLog)."""
    schedule = Schedule(config.classifier_epochs, config.batch_size, CLASSIFIER_LR, "cosine")
    return classifier.train_classifier(data, schedule, runtime, config.seed, progress)


def pretrained_models(config: ModelConfig, runtime: Runtime, progress: Progress, course: bool = False) -> Models:
    """The guided UNet and its judge for `config`, from the model cache, each trained first if it is
    not there (or `config.retrain`); with `course`, the course's class-conditioned UNet too. Both demos
    get their models here."""
    from diffusers.pipelines.ddpm.pipeline_ddpm import DDPMPipeline

    data = functools.cache(functools.partial(_training_data, config, runtime, progress))
    pipeline, unet_info = cache.get_or_train(
        UNET_KIND,
        unet_settings(config),
        DDPMPipeline,
        _trainer(train_unet, config, data, runtime, progress),
        retrain=config.retrain,
        store=runtime.is_main_process,
    )
    judge, judge_info = pretrained_judge(config, runtime, progress, data)
    unet = pipeline.unet.to(runtime.device).eval()
    unet_info["parameters"] = parameters(unet)
    training = {"unet": unet_info, "classifier": judge_info}
    course_unet = None
    if course:
        course_unet, training["course_unet"] = cache.get_or_train(
            COURSE_KIND,
            course_settings(config),
            CourseConditionedUnet,
            _trainer(train_course_unet, config, data, runtime, progress),
            retrain=config.retrain,
            store=runtime.is_main_process,
        )
        course_unet = course_unet.to(runtime.device).eval()
        training["course_unet"]["parameters"] = parameters(course_unet)
    return Models(unet, pipeline.scheduler, judge, training, course_unet)


def pretrained_judge(
    config: ModelConfig, runtime: Runtime, progress: Progress, data: Callable[[], ImageSet] | None = None
) -> tuple[classifier.DigitClassifier, dict[str, Any]]:
    """The judge for `config` (its `JUDGE_SETTINGS`), from the model cache or trained now on `data()`
    (default: the train split `config` describes), on the device in eval mode; and what metrics.json says
    of it. unet-training judges its samples with the judge cfg trained, when their settings agree."""
    data = data or functools.partial(_training_data, config, runtime, progress)
    judge, info = cache.get_or_train(
        CLASSIFIER_KIND,
        judge_settings(config),
        classifier.DigitClassifier,
        _trainer(train_judge, config, data, runtime, progress),
        retrain=config.retrain,
        store=runtime.is_main_process,
    )
    return judge.to(runtime.device).eval(), info


def _training_data(config: ModelConfig, runtime: Runtime, progress: Progress) -> ImageSet:
    progress("load data", 0, 1)
    images = load_images(
        config.dataset, config.image_size, config.train_images, config.seed, runtime.device, split="train"
    )
    progress("load data", 1, 1)
    return images


def _trainer(
    trainer: Any, config: ModelConfig, data: Callable[[], ImageSet], runtime: Runtime, progress: Progress
) -> Callable[[], tuple[Any, dict[str, Any]]]:
    """`trainer` on the data once asked: a cached model needs no training images."""

    def train_now() -> tuple[Any, dict[str, Any]]:
        model, log = trainer(config, data(), runtime, progress)
        return model, log.summary()

    return train_now


def held_out(config: ModelConfig, runtime: Runtime, count: int) -> ImageSet:
    """Real digits from the test split: neither model has seen these handwritten scans."""
    return load_images(config.dataset, config.image_size, count, config.seed + 1, runtime.device, split="test")
