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
from diffusers import AutoencoderKL

from learnapp.exercises.compare import Case, Check, Mistake, on

# --- class conditioning ------------------------------------------------------------------------------


def class_conditioned_input(x, class_labels, class_emb, *, cond_first=False, one_hot=False, dim=1):
    batch, _, height, width = x.shape
    cond = (torch.nn.functional.one_hot(class_labels, class_emb.num_embeddings).float() if one_hot
            else class_emb(class_labels))
    cond = cond.view(batch, cond.shape[1], 1, 1).expand(batch, cond.shape[1], height, width)
    return torch.cat((cond, x) if cond_first else (x, cond), dim)


def _class_cases() -> list[Case]:
    cases = []
    for seed, (shape, classes, size) in enumerate((((3, 1, 8, 8), 10, 4), ((2, 3, 6, 5), 5, 4),
                                                   ((4, 1, 4, 7), 10, 2))):
        def arguments(shape=shape, classes=classes, size=size, seed=seed):
            generator = torch.Generator().manual_seed(seed)
            embedding = torch.nn.Embedding(classes, size)
            with torch.no_grad():
                embedding.weight.copy_(torch.randn(classes, size, generator=generator))
            labels = torch.randint(0, classes, (shape[0],), generator=generator)
            return torch.randn(shape, generator=generator), labels, embedding

        cases.append(Case(f"x of shape {shape}, {classes} classes embedded in {size} channels, seed {seed}",
                          arguments, on(class_conditioned_input, arguments), seed))
    return cases


CLASS_CONDITIONING = Check(
    "class_conditioned_input",
    _class_cases,
    (
        Mistake("the class channels come first: the course concatenates (x, class_cond), image channels first",
                lambda *a: class_conditioned_input(*a, cond_first=True)),
        Mistake("a one-hot vector instead of the learned embedding: pass the labels through class_emb",
                lambda *a: class_conditioned_input(*a, one_hot=True)),
    ),
    atol=1e-6,
    rtol=1e-6,
)

# --- latent scaling ----------------------------------------------------------------------------------


@cache
def tiny_vae(scaling_factor: float) -> AutoencoderKL:
    """A small AutoencoderKL (16x16 images -> 4x8x8 latents), the same weights every time."""
    torch.manual_seed(0)
    vae = AutoencoderKL(
        in_channels=3, out_channels=3, latent_channels=4, block_out_channels=(8, 16), layers_per_block=1,
        down_block_types=("DownEncoderBlock2D", "DownEncoderBlock2D"),
        up_block_types=("UpDecoderBlock2D", "UpDecoderBlock2D"), norm_num_groups=4, sample_size=16,
        scaling_factor=scaling_factor,
    )
    return vae.eval().requires_grad_(False)


def latent_round_trip(vae, images, *, encode_scale=True, decode="divide", sample=False):
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
        def arguments(batch=batch, factor=factor, seed=seed):
            images = torch.rand(batch, 3, 16, 16, generator=torch.Generator().manual_seed(seed)) * 2 - 1
            return tiny_vae(factor), images

        cases.append(Case(f"{batch} images of 3x16x16 in [-1, 1], scaling_factor {factor}", arguments,
                          on(latent_round_trip, arguments), seed))
    return cases


LATENT_SCALING = Check(
    "latent_round_trip",
    _latent_cases,
    (
        Mistake("scaling_factor forgotten: the UNet was trained on latents × vae.config.scaling_factor "
                "(unit variance), and decode divides by it again",
                lambda *a: latent_round_trip(*a, encode_scale=False, decode="none")),
        Mistake("decode multiplied by scaling_factor: undo the encoder's scaling, vae.decode(latents / factor)",
                lambda *a: latent_round_trip(*a, decode="multiply")),
        Mistake("latents not scaled on the way in: latents = latent_dist.mean × scaling_factor",
                lambda *a: latent_round_trip(*a, encode_scale=False)),
        Mistake("latent_dist.sample() draws random latents: the course takes latent_dist.mean",
                lambda *a: latent_round_trip(*a, sample=True)),
    ),
    atol=1e-5,
    rtol=1e-4,
)
