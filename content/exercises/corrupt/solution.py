"""Exercise corrupt: the reference solution (the course's own code)."""

import torch


def corrupt(x: torch.Tensor, amount: torch.Tensor) -> torch.Tensor:
    """Mix each image with uniform noise: x · (1 - amount) + noise · amount."""
    noise = torch.rand_like(x)
    amount = amount.view(-1, 1, 1, 1)  # (B,) -> (B, 1, 1, 1) so it broadcasts over C, H, W
    return x * (1 - amount) + noise * amount
