"""Runnable demos. This module is the registry only: it must stay importable without torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoInfo:
    name: str
    summary: str
    figures: tuple[str, ...]  # files every run writes that cards may point at


DEMOS: dict[str, DemoInfo] = {
    info.name: info
    for info in (
        DemoInfo(
            "noise-corruption",
            "The course's corrupt(x, amount) next to DDPM add_noise under linear and cosine schedules.",
            ("corruption_grid.png", "alpha_bar_curves.png"),
        ),
        DemoInfo(
            "unet-training",
            "Train the from-scratch BasicUNet and a diffusers UNet2DModel, compare losses and samples.",
            (
                "loss_curves.png",
                "samples_basic_unet.png",
                "samples_unet2d.png",
                "predicted_x0.png",
                "loss_by_noise_level.png",
                "training_data.png",
                "denoising_basic_unet.gif",
                "denoising_unet2d.gif",
            ),
        ),
        DemoInfo(
            "cfg",
            "Class-conditioned UNet with classifier-free guidance, accuracy and diversity per scale.",
            ("guidance_grid.png", "guidance_sweep.png"),
        ),
        DemoInfo(
            "ddim-inversion",
            "Invert real images with DDIM, reconstruct them, and edit them against an img2img baseline.",
            ("reconstruction_vs_steps.png", "edit_comparison.png"),
        ),
        DemoInfo(
            "audio-spectrograms",
            "Audio to mel spectrogram images and back, sample-rate mistakes, diffusion on spectrograms.",
            ("spectrogram.png", "roundtrip_spectra.png", "sample_rates.png"),
        ),
    )
}
