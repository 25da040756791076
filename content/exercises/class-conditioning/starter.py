"""Exercise class-conditioning: the course's class-conditioned UNet input (unit 2)."""

import torch


def class_conditioned_input(x: torch.Tensor, class_labels: torch.Tensor, class_emb: torch.nn.Embedding) -> torch.Tensor:
    """Give the UNet the class as extra image channels.

    Args:
        x: noisy images, shape (B, C, H, W) (H and W may differ).
        class_labels: one class per image, shape (B,), integers.
        class_emb: an nn.Embedding(num_classes, E) (the course uses E = 4).

    Steps, as the course's ClassConditionedUnet.forward takes them:
        1. class_cond = class_emb(class_labels)                    shape (B, E)
        2. view it as (B, E, 1, 1) and expand to (B, E, H, W)      the same vector at every pixel
        3. torch.cat((x, class_cond), dim=1)                       image channels first

    Returns:
        The UNet's input, shape (B, C + E, H, W).
    """
    raise NotImplementedError("embed, spread over the pixels, concatenate as channels")
