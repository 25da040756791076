"""Runnable demos. This module is the registry only: it must stay importable without torch.

Each demo declares here the files every run of it writes under fixed names (`DemoInfo.outputs`):
the demo module takes those names from here where it writes them (unpacking them, so that a name
added or dropped on one side breaks the other at import), cards point at them
(`figure: <demo>/<file>`, checked by `learnapp validate`), and the app draws the pictures among
them. Files whose names depend on the options (one grid per guidance scale, one WAV per sample)
and model folders are not declared: no card can count on them.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class DemoInfo:
    name: str
    summary: str
    outputs: tuple[str, ...]  # files every run writes, in the order the demo unpacks them: what cards may point at

    @property
    def figures(self) -> tuple[str, ...]:
        """The outputs the app draws: the pictures (PNG), in declared order."""
        return tuple(name for name in self.outputs if name.endswith(".png"))


DEMOS: dict[str, DemoInfo] = {
    info.name: info
    for info in (
        DemoInfo(
            "noise-corruption",
            "The course's corrupt(x, amount) next to DDPM add_noise under linear and cosine schedules.",
            ("corruption_grid.png", "alpha_bar_curves.png", "forward_noising.gif"),
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
            "Class-conditioned UNets (diffusers' and the course's) with classifier-free guidance, measured per scale.",
            ("guidance_grid.png", "guidance_sweep.png", "conditioning_comparison.png"),
        ),
        DemoInfo(
            "ddim-inversion",
            "Samplers compared, DDIM's determinism, inverting real images with DDIM and editing them against img2img.",
            ("reconstruction_vs_steps.png", "edit_comparison.png", "samplers.png", "same_noise.png"),
        ),
        DemoInfo(
            "fine-tuning-guidance",
            "Fine-tune a digit UNet on a new domain against training from scratch, steer sampling with a loss "
            "on the predicted x0 (brightness, classifier guidance), and a tiny DiT against the UNet.",
            (
                "finetune_vs_scratch.png",
                "finetune_samples.png",
                "loss_guidance_grid.png",
                "loss_guidance_sweep.png",
                "dit_vs_unet.png",
            ),
        ),
        DemoInfo(
            "audio-spectrograms",
            "Audio to mel spectrogram images and back, sample-rate mistakes, diffusion on spectrograms.",
            (
                "spectrogram.png",
                "roundtrip_spectra.png",
                "sample_rates.png",
                "training_spectrograms.png",
                "generated_spectrograms.png",
                "spectrogram_distances.png",
                "loss_curve.png",
                "denoising.gif",
                "original.wav",
                "roundtrip.wav",
            ),
        ),
        DemoInfo(
            "latent-diffusion",
            "Stable Diffusion in miniature: a VAE, a CLIP text encoder and a cross-attention UNet trained on "
            "captioned digits, run as StableDiffusionPipeline; compression, step cost, text guidance, img2img.",
            ("latent_space.png", "step_cost.png", "text_guidance.png", "prompts.png", "img2img_strength.png"),
        ),
    )
}
