"""Tiny demo configs for tests: seconds on a CPU, still running every step of each demo."""

from __future__ import annotations

import json
from pathlib import Path

# The guidance demos share their models: the same model options make ddim-inversion reuse what cfg trained.
GUIDED_MODEL = [
    "--device", "cpu", "--image-size", "8", "--train-images", "256", "--epochs", "2", "--batch-size", "32",
    "--unet-channels", "8", "16", "--layers-per-block", "1", "--no-attention", "--num-train-timesteps", "100",
    "--classifier-epochs", "1",
]

TINY = {
    "noise-corruption": ["--image-size", "12", "--images", "1", "--levels", "3"],
    "unet-training": [
        "--device", "cpu", "--image-size", "8", "--train-images", "256", "--epochs", "2", "--batch-size", "32",
        "--learning-rate", "3e-3", "--warmup-steps", "0", "--unet-channels", "8", "16", "--layers-per-block", "1",
        "--num-train-timesteps", "50", "--sampling-steps", "3", "--basic-sampling-steps", "2", "--samples", "4",
        "--classifier-images", "256", "--classifier-epochs", "1", "--classifier-batch-size", "32",
        "--test-images", "64",
    ],
    "cfg": [*GUIDED_MODEL, "--test-images", "200", "--guidance-scales", "0", "1", "3", "--guidance-scale", "3",
            "--samples-per-class", "2", "--sampling-steps", "3"],
    "ddim-inversion": [*GUIDED_MODEL, "--inversion-steps", "2", "5", "--inversion-images", "4", "--sampling-steps", "4",
                       "--edit-steps", "2", "--edit-images", "2", "--sampler-steps", "3",
                       "--sampler-samples-per-class", "2", "--test-images", "40"],
    "fine-tuning-guidance": [
        *GUIDED_MODEL, "--finetune-images", "64", "--finetune-epochs", "2", "--eval-samples-per-class", "2",
        "--sampling-steps", "3", "--brightness-scales", "0", "10", "--class-scales", "0", "1", "--guided-samples", "4",
        "--arch-steps", "3", "--dit-layers", "1", "--dit-heads", "2",
    ],
    "audio-spectrograms": [
        "--device", "cpu", "--train-clips", "64", "--image-size", "8", "--epochs", "3", "--batch-size", "16",
        "--learning-rate", "3e-3", "--warmup-steps", "0", "--unet-channels", "8", "16", "--layers-per-block", "1",
        "--num-train-timesteps", "50", "--sampling-steps", "3", "--samples", "2", "--samples-to-audio", "1",
    ],
    "latent-diffusion": [
        "--device", "cpu", "--image-size", "16", "--train-images", "256", "--batch-size", "32", "--vae-channels", "8",
        "16", "16", "--vae-epochs", "1", "--text-width", "16", "--text-layers", "1", "--unet-channels", "16", "32",
        "--layers-per-block", "1", "--latent-batch-size", "32", "--epochs", "2", "--warmup-steps", "0",
        "--num-train-timesteps", "100",
        "--classifier-epochs", "1", "--guidance-scales", "1", "3", "--guidance-scale", "3", "--samples-per-prompt", "2",
        "--sampling-steps", "3", "--strengths", "0.5", "1", "--test-images", "200",
    ],
}


def only_run(base: Path, demo: str) -> Path:
    (run,) = (base / demo).iterdir()
    return run


def metrics(run: Path) -> dict:
    return json.loads((run / "metrics.json").read_text())


def assert_written(run: Path, *names: str) -> None:
    """Each file exists in the run folder with real content (an empty or stub figure is under 1 kB)."""
    small = {name: (run / name).stat().st_size if (run / name).exists() else None for name in names}
    assert all(size is not None and size > 1000 for size in small.values()), small
