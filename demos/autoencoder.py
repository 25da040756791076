"""The autoencoder of latent diffusion: a diffusers `AutoencoderKL` trained on the digits, and what it measures.

Stable Diffusion's VAE maps a 512x512x3 image to 64x64x4 latents: 8x fewer pixels per side, 48
pixel values per latent value. Ours maps 1-channel digits to latents `2 ** (blocks - 1)` times
smaller per side. It is trained as a VAE: reconstruction error plus a small KL term that keeps
the latents near a unit Gaussian's scale without blurring the digits.

The diffusion model then works on the latents, multiplied by `scaling_factor` (SD 1.x: 0.18215)
so that their standard deviation is about 1, the scale its noise schedule assumes; `measure_scale`
finds that factor from the training latents, as SD's authors did from a batch of theirs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import torch
import torch.nn.functional as F
from torch import nn

if TYPE_CHECKING:
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL


def make_vae(channels: tuple[int, ...], latent_channels: int, image_size: int) -> AutoencoderKL:
    """An `AutoencoderKL` for 1-channel images that halves their size `len(channels) - 1` times."""
    from diffusers.models.autoencoders.autoencoder_kl import AutoencoderKL

    blocks = len(channels)
    return AutoencoderKL(
        in_channels=1,
        out_channels=1,
        latent_channels=latent_channels,
        sample_size=image_size,
        down_block_types=("DownEncoderBlock2D",) * blocks,
        up_block_types=("UpDecoderBlock2D",) * blocks,
        block_out_channels=channels,
        layers_per_block=1,
        norm_num_groups=min(32, math.gcd(*channels)),
    )


def factor(vae: AutoencoderKL) -> int:
    """How many times smaller the latents are per side: what diffusers calls `vae_scale_factor`."""
    return 2 ** (len(vae.config["block_out_channels"]) - 1)


class VAETraining(nn.Module):
    """The VAE's training forward pass as one module (so Accelerate's DDP wrapper sees one `forward`):
    encode, sample the posterior with the given noise, decode; returns the reconstruction and the KL term."""

    def __init__(self, vae: AutoencoderKL) -> None:
        super().__init__()
        self.vae = vae

    def forward(self, x: torch.Tensor, noise: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        posterior = self.vae.encode(x).latent_dist
        z = posterior.mean + posterior.std * noise
        return self.vae.decode(z).sample, posterior.kl().mean() / z[0].numel()


def vae_loss(kl_weight: float, latent_shape: tuple[int, ...]) -> Any:
    """Mean squared reconstruction error in [-1, 1] plus `kl_weight` times the KL term per latent value."""

    def loss(model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
        x = images * 2 - 1
        noise = torch.randn((len(x), *latent_shape), generator=generator, device=x.device)
        reconstruction, kl = model(x, noise)
        return F.mse_loss(reconstruction.float(), x) + kl_weight * kl.float()

    return loss


@torch.no_grad()
def encode(vae: AutoencoderKL, images: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """The posterior means (unscaled latents) of images in [0, 1], float32."""
    return torch.cat(
        [vae.encode(images[i : i + batch] * 2 - 1).latent_dist.mean.float() for i in range(0, len(images), batch)]
    )


@torch.no_grad()
def decode(vae: AutoencoderKL, latents: torch.Tensor, batch: int = 512) -> torch.Tensor:
    """Images in [0, 1] from unscaled latents."""
    return torch.cat(
        [
            (vae.decode(latents[i : i + batch]).sample.float() / 2 + 0.5).clamp(0, 1)
            for i in range(0, len(latents), batch)
        ]
    )


def measure_scale(latents: torch.Tensor) -> float:
    """The `scaling_factor` that gives the latents a standard deviation of 1 (SD's recipe: 1 / std)."""
    return 1.0 / latents.float().std().item()


def psnr(images: torch.Tensor, reference: torch.Tensor) -> float:
    """Peak signal-to-noise ratio in dB of images in [0, 1]: 10 log10(1 / mean squared error), over the whole set."""
    mse = F.mse_loss(images.float(), reference.float()).item()
    return 10 * math.log10(1 / max(mse, 1e-12))


@dataclass(frozen=True)
class Compression:
    image_shape: tuple[int, ...]  # C, H, W
    latent_shape: tuple[int, ...]
    per_side: int  # the VAE's factor

    @property
    def values_per_latent(self) -> float:
        """Pixel values per latent value: 48 for SD 1.x (512 x 512 x 3 / 64 x 64 x 4)."""
        return math.prod(self.image_shape) / math.prod(self.latent_shape)


def compression(vae: AutoencoderKL, image_size: int) -> Compression:
    down = factor(vae)
    return Compression(
        (vae.config["in_channels"], image_size, image_size),
        (vae.config["latent_channels"], image_size // down, image_size // down),
        down,
    )
