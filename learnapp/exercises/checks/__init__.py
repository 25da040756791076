"""The checkers, by name. Naming one imports nothing heavy; `load` imports its module (torch, diffusers).

Families: `noise` (the forward process), `sampling` (reverse steps, guidance, img2img),
`conditioning` (class conditioning, latent scaling), `audio` (mel spectrograms).
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, cast

if TYPE_CHECKING:
    from learnapp.exercises.compare import Check

CHECKERS: dict[str, str] = {
    "corrupt": "noise:CORRUPT",
    "alpha-bar": "noise:ALPHA_BAR",
    "add-noise": "noise:ADD_NOISE",
    "training-loss": "noise:TRAINING_LOSS",
    "ddpm-step": "sampling:DDPM_STEP",
    "ddim-step": "sampling:DDIM_STEP",
    "ddim-inversion": "sampling:DDIM_INVERSION",
    "cfg": "sampling:CFG",
    "img2img-strength": "sampling:IMG2IMG",
    "class-conditioning": "conditioning:CLASS_CONDITIONING",
    "latent-scaling": "conditioning:LATENT_SCALING",
    "mel-round-trip": "audio:MEL_ROUND_TRIP",
}


def load(name: str) -> Check:
    module, attribute = CHECKERS[name].split(":")
    # The attribute is found by name at run time; CHECKERS names only Check objects.
    return cast("Check", getattr(import_module(f"{__name__}.{module}"), attribute))
