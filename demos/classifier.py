"""A small digit classifier: the judge that turns generated digits into numbers.

Guidance and editing make claims about classes ("this sample is a 3", "the edit made it an 8")
and about variety ("higher guidance gives samples that look more alike"). A CNN trained on the
same digits as the diffusion model, and scored on held-out ones, measures both:

- class accuracy: how often its prediction is the class that was asked for;
- features: its last hidden layer (64 numbers per image). Distances there say how different two
  digits look to it, so the mean pairwise distance within a class is a diversity figure, and the
  Fréchet distance between two sets of features is FID's formula with this network in place of
  Inception (comparable between runs of the same classifier only).

It is a diffusers `ModelMixin`, so it is saved and loaded like the UNet (safetensors).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from diffusers.configuration_utils import ConfigMixin, register_to_config
from diffusers.models.modeling_utils import ModelMixin
from torch import nn

from .base import Progress
from .data import ImageSet
from .device import Runtime
from .training import Schedule, TrainLog, train


# diffusers' own models mix these two: ModelMixin's config_name is a str, ConfigMixin's is None
class DigitClassifier(ModelMixin, ConfigMixin):  # type: ignore[misc]
    """Two 3x3 conv pairs with max-pooling, pooled to 4x4, then a 64-wide hidden layer: any input size >= 8."""

    @register_to_config
    def __init__(self, classes: int = 10, width: int = 32, feature_size: int = 64):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(width, width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.Conv2d(width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.Conv2d(2 * width, 2 * width, 3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),
            nn.AdaptiveAvgPool2d(4),
            nn.Flatten(),
            nn.Linear(2 * width * 16, feature_size),
            nn.ReLU(),
        )
        self.head = nn.Linear(feature_size, classes)

    def features(self, images: torch.Tensor) -> torch.Tensor:
        """The hidden layer for images in [0, 1] (N x 1 x H x W)."""
        return self.body(images * 2 - 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(images))


def classification_loss(
    model: nn.Module, images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator
) -> torch.Tensor:
    return F.cross_entropy(model(images), labels)


def train_classifier(
    data: ImageSet, schedule: Schedule, runtime: Runtime, seed: int, progress: Progress
) -> tuple[DigitClassifier, TrainLog]:
    torch.manual_seed(seed)
    return train(DigitClassifier(), classification_loss, data, schedule, runtime, seed, progress, "train classifier")


@torch.no_grad()
def judge(model: DigitClassifier, images: torch.Tensor, batch: int = 1024) -> tuple[torch.Tensor, torch.Tensor]:
    """Predicted classes and float32 features of images in [0, 1], computed in full precision."""
    model = model.float()
    device = next(model.parameters()).device
    classes, features = [], []
    for start in range(0, len(images), batch):
        hidden = model.features(images[start : start + batch].to(device).float())
        classes.append(model.head(hidden).argmax(dim=1))
        features.append(hidden)
    return torch.cat(classes), torch.cat(features)


@torch.no_grad()
def confident_share(model: DigitClassifier, images: torch.Tensor, threshold: float = 0.9, batch: int = 1024) -> float:
    """The share of images in [0, 1] that the judge gives some digit a probability >= `threshold`:
    how many look like a digit at all, whichever digit (the figure for unconditional samples)."""
    model = model.float()
    device = next(model.parameters()).device
    confident = 0
    for start in range(0, len(images), batch):
        probabilities = model(images[start : start + batch].to(device).float()).softmax(dim=1)
        confident += int((probabilities.max(dim=1).values >= threshold).sum())
    return confident / max(1, len(images))


def accuracy(predicted: torch.Tensor, wanted: torch.Tensor) -> float:
    return (predicted == wanted.to(predicted.device)).float().mean().item()


def mean_pairwise_distance(features: torch.Tensor) -> float:
    """Mean Euclidean distance over all pairs of different images: 0 when they all look the same."""
    n = len(features)
    if n < 2:
        return 0.0
    distances = torch.cdist(features.double(), features.double())
    return (distances.sum() / (n * (n - 1))).item()


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """|mu_a - mu_b|^2 + tr(C_a + C_b - 2 (C_a^1/2 C_b C_a^1/2)^1/2): the distance between the Gaussians
    fitted to two feature sets (FID's formula). Symmetric square roots by eigendecomposition, in float64."""
    a, b = a.double(), b.double()
    mu_a, mu_b = a.mean(0), b.mean(0)
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return ((mu_a - mu_b).square().sum() + cov_a.trace() + cov_b.trace() - 2 * cross).item()
