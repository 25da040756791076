"""Checks for conditioning and latents: the course's class conditioning, and Stable Diffusion's
latent scaling through a (tiny, randomly initialised) `AutoencoderKL`.

Class conditioning is the course's `ClassConditionedUnet.forward` (unit 2): diffusers has no function
for it, so the expected value is that code. Latent scaling is the course's (unit 3)
`vae.encode(images).latent_dist.mean * scaling_factor` and `vae.decode(latents / scaling_factor).sample`
run on diffusers' `AutoencoderKL`.
"""

from __future__ import annotations

from functools import cache

import torch

from learnapp.exercises.checks.diffusers_types import VAE, frozen_autoencoder_kl
from learnapp.exercises.compare import Case, Check, Mistake, on

# --- class conditioning ------------------------------------------------------------------------------


def class_conditioned_input(
    x: torch.Tensor,
    class_labels: torch.Tensor,
    class_emb: torch.nn.Embedding,
    *,
    cond_first: bool = False,
    one_hot: bool = False,
    dim: int = 1,
) -> torch.Tensor:
    batch, _, height, width = x.shape
    cond = (
        torch.nn.functional.one_hot(class_labels, class_emb.num_embeddings).float()
        if one_hot
        else class_emb(class_labels)
    )
    cond = cond.view(batch, cond.shape[1], 1, 1).expand(batch, cond.shape[1], height, width)
    return torch.cat((cond, x) if cond_first else (x, cond), dim)


def _class_cases() -> list[Case]:
    cases = []
    for seed, (shape, classes, size) in enumerate((((3, 1, 8, 8), 10, 4), ((2, 3, 6, 5), 5, 4), ((4, 1, 4, 7), 10, 2))):

        def arguments(
            shape: tuple[int, ...] = shape, classes: int = classes, size: int = size, seed: int = seed
        ) -> tuple[torch.Tensor, torch.Tensor, torch.nn.Embedding]:
            generator = torch.Generator().manual_seed(seed)
            embedding = torch.nn.Embedding(classes, size)
            with torch.no_grad():
                embedding.weight.copy_(torch.randn(classes, size, generator=generator))
            labels = torch.randint(0, classes, (shape[0],), generator=generator)
            return torch.randn(shape, generator=generator), labels, embedding

        cases.append(
            Case(
                f"x of shape {shape}, {classes} classes embedded in {size} channels, seed {seed}",
                arguments,
                on(class_conditioned_input, arguments),
                seed,
            )
        )
    return cases


CLASS_CONDITIONING = Check(
    "class_conditioned_input",
    _class_cases,
    (
        Mistake(
            "the class channels come first: the course concatenates (x, class_cond), image channels first",
            lambda *a: class_conditioned_input(*a, cond_first=True),
        ),
        Mistake(
            "a one-hot vector instead of the learned embedding: pass the labels through class_emb",
            lambda *a: class_conditioned_input(*a, one_hot=True),
        ),
    ),
    atol=1e-6,
    rtol=1e-6,
)

# --- latent scaling ----------------------------------------------------------------------------------


@cache
def tiny_vae(scaling_factor: float) -> VAE:
    """A small AutoencoderKL (16x16 images -> 4x8x8 latents), the same weights every time."""
    torch.manual_seed(0)
    return frozen_autoencoder_kl(
        in_channels=3,
        out_channels=3,
        latent_channels=4,
        block_out_channels=(8, 16),
        layers_per_block=1,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"),
        norm_num_groups=4,
        sample_size=16,
        scaling_factor=scaling_factor,
    )


def latent_round_trip(
    vae: VAE, images: torch.Tensor, *, encode_scale: bool = True, decode: str = "divide", sample: bool = False
) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        distribution = vae.encode(images).latent_dist
        latents = distribution.sample() if sample else distribution.mean
        factor = vae.config.scaling_factor
        latents = latents * factor if encode_scale else latents
        back = {"divide": latents / factor, "multiply": latents * factor, "none": latents}[decode]
        return latents, vae.decode(back).sample


def _latent_cases() -> list[Case]:
    cases = []
    for seed, (batch, factor) in enumerate(((2, 0.18215), (1, 0.13025), (3, 0.18215))):

        def arguments(batch: int = batch, factor: float = factor, seed: int = seed) -> tuple[VAE, torch.Tensor]:
            images = torch.rand(batch, 3, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1
            return tiny_vae(factor), images

        cases.append(
            Case(
                f"{batch} images of 3x16x16 in [-1, 1], scaling_factor {factor}",
                arguments,
                on(latent_round_trip, arguments),
                seed,
            )
        )
    return cases


LATENT_SCALING = Check(
    "latent_round_trip",
    _latent_cases,
    (
        Mistake(
            "scaling_factor forgotten: the UNet was trained on latents × vae.config.scaling_factor "
            "(unit variance), and decode divides by it again",
            lambda *a: latent_round_trip(*a, encode_scale=False, decode="none"),
        ),
        Mistake(
            "decode multiplied by scaling_factor: undo the encoder's scaling, vae.decode(latents / factor)",
            lambda *a: latent_round_trip(*a, decode="multiply"),
        ),
        Mistake(
            "latents not scaled on the way in: latents = latent_dist.mean × scaling_factor",
            lambda *a: latent_round_trip(*a, encode_scale=False),
        ),
        Mistake(
            "latent_dist.sample() draws random latents: the course takes latent_dist.mean",
            lambda *a: latent_round_trip(*a, sample=True),
        ),
    ),
    atol=1e-5,
    rtol=1e-4,
)
