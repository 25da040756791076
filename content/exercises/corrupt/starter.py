"""Exercise corrupt: the course's very first noising function (unit 1, diffusion from scratch)."""

import torch


def corrupt(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """Mix each image with uniform noise, by its own amount.

    Args:
        x: images, shape (B, C, H, W), values in [0, 1].
        amount: how much noise each image gets, shape (B,), values in [0, 1]:
            0 leaves the image as it is, 1 replaces it with noise.

    Returns:
        The corrupted images, shape (B, C, H, W):

            corrupted = x · (1 - amount) + noise · amount,   noise ~ U[0, 1) (torch.rand_like(x))

    `amount` has shape (B,); to broadcast against (B, C, H, W) it needs shape (B, 1, 1, 1).
    Draw the noise with torch.rand_like(x) (the check seeds torch before calling you).
    """
    raise NotImplementedError("mix x with torch.rand_like(x) by amount")
