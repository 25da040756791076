"""The UNet2DModel the diffusion demos train, and the DDPM noise schedule it is trained on.

Built the way unit 1 of the course builds it: plain ResNet blocks at full size, attention
blocks below it, group norms of 32 channels where the widths allow. A demo's config holds the
settings (`UNetSettings`); these functions only turn them into diffusers objects.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Protocol

from torch import nn

if TYPE_CHECKING:  # imported where used: diffusers takes seconds to import
    from diffusers.models.unets.unet_2d import UNet2DModel
    from diffusers.pipelines.ddpm.pipeline_ddpm import DDPMPipeline
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler


class UNetSettings(Protocol):
    """What the UNet2DModel and its noise schedule are built from: the fields every diffusion demo's config has
    (read-only here, so that a config's narrower types, such as a Literal schedule, fit)."""

    @property
    def image_size(self) -> int: ...
    @property
    def unet_channels(self) -> tuple[int, ...]: ...
    @property
    def layers_per_block(self) -> int: ...
    @property
    def attention(self) -> bool: ...
    @property
    def beta_schedule(self) -> str: ...
    @property
    def num_train_timesteps(self) -> int: ...


def make_unet2d(config: UNetSettings, num_class_embeds: int | None = None, in_channels: int = 1) -> UNet2DModel:
    """The course's UNet2DModel: plain ResNet blocks at full size, attention blocks below it; with
    `config.attention` False, plain blocks there too (three times faster on a CPU; the middle block keeps
    diffusers' one self-attention layer either way). With `num_class_embeds`, a learned vector per
    class is added to the timestep embedding (`unet(x, t, class_labels=labels)`). `in_channels` beyond
    the image's one carry conditioning concatenated to it (the course's class-conditioned model)."""
    from diffusers.models.unets.unet_2d import UNet2DModel

    blocks = len(config.unet_channels)
    down, up = ("AttnDownBlock2D", "AttnUpBlock2D") if config.attention else ("DownBlock2D", "UpBlock2D")
    return UNet2DModel(
        sample_size=config.image_size,
        in_channels=in_channels,
        out_channels=1,
        layers_per_block=config.layers_per_block,
        block_out_channels=config.unet_channels,
        down_block_types=("DownBlock2D",) + (down,) * (blocks - 1),
        up_block_types=(up,) * (blocks - 1) + ("UpBlock2D",),
        norm_num_groups=min(32, math.gcd(*config.unet_channels)),  # 32, as the course, for its widths
        num_class_embeds=num_class_embeds,
    )


def make_scheduler(config: UNetSettings) -> DDPMScheduler:
    """The DDPM training schedule: `num_train_timesteps` betas of `beta_schedule`."""
    from diffusers.schedulers.scheduling_ddpm import DDPMScheduler

    return DDPMScheduler(num_train_timesteps=config.num_train_timesteps, beta_schedule=config.beta_schedule)


def ddpm_pipeline(unet: UNet2DModel, scheduler: DDPMScheduler) -> DDPMPipeline:
    """A trained UNet and its training schedule as a saveable pipeline."""
    from diffusers.pipelines.ddpm.pipeline_ddpm import DDPMPipeline

    # DDPMPipeline annotates `scheduler` with the placeholder class mypy sees in diffusers.schedulers' namespace
    return DDPMPipeline(unet=unet, scheduler=scheduler)  # type: ignore[arg-type]


def parameters(model: nn.Module) -> int:
    return sum(p.numel() for p in model.parameters())
