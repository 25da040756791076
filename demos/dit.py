"""A tiny DiT (diffusers' `DiTTransformer2DModel`) as a pixel-space digit denoiser, sized to match a UNet.

DiT cuts the image into `patch_size` x `patch_size` patches (2 x 2 in the paper's best models),
embeds each as a token with a fixed 2D position embedding, and runs transformer blocks whose
layer norms are modulated by the timestep and the class (adaLN-Zero); a linear layer turns each
token back into its patch. It predicts the noise like the UNet, through the same call,
`model(x, t, class_labels=labels).sample`, with one timestep per image.

`matching_dit` picks the width that gives the parameter count nearest a target (the UNet it is
compared with), for a given depth and number of heads. In training mode the DiT drops a tenth of
the labels to its null class by itself (diffusers' `LabelEmbedding`, as the DiT paper trained it):
`conditioning.guidance_loss(scheduler, 0)` trains it with no further dropout.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import torch

from .unets import parameters

if TYPE_CHECKING:
    from diffusers.models.transformers.dit_transformer_2d import DiTTransformer2DModel

PATCH_SIZE = 2


def make_dit(image_size: int, layers: int, heads: int, head_dim: int, classes: int) -> DiTTransformer2DModel:
    """A DiT over one-channel images with `classes` labels (and, for classifier-free guidance, a null one)."""
    from diffusers.models.transformers.dit_transformer_2d import DiTTransformer2DModel

    return DiTTransformer2DModel(
        num_attention_heads=heads,
        attention_head_dim=head_dim,
        in_channels=1,
        out_channels=1,
        num_layers=layers,
        sample_size=image_size,
        patch_size=PATCH_SIZE,
        num_embeds_ada_norm=classes,
    )


def matching_dit(target: int, image_size: int, layers: int, heads: int, classes: int) -> DiTTransformer2DModel:
    """The DiT of `layers` blocks and `heads` heads whose parameter count is nearest `target`."""
    counts = {}
    with torch.device("meta"):  # counting needs shapes only
        for head_dim in range(1, 257):
            if heads * head_dim % 4:  # the 2D sine-cosine position embedding splits the width in four
                continue
            counts[head_dim] = parameters(make_dit(image_size, layers, heads, head_dim, classes))
            if counts[head_dim] > target:
                break
    best = min(counts, key=lambda head_dim: abs(counts[head_dim] - target))
    return make_dit(image_size, layers, heads, best, classes)
