"""What every demo module provides, and how to add one.

A demo is one module, `demos/<name with underscores>.py`, readable top to bottom like a
diffusers example, with:

- `Config`: a dataclass of typed fields with defaults (the full preset), each with
  `field(metadata={"help": ...})`, a classmethod `quick()` returning the quick preset, and a
  `__post_init__` that rejects impossible values with `UserError` (helpers in `config.py`).
  Fields named `device`, `precision` and `compile` (types from `device.py`): the runner
  resolves them to record the device in metrics.json, and `run` resolves them again
  (`device.resolve`, cheap) for its own work. By convention `seed` seeds the data, the initial
  weights and the noise, and `retrain` makes a demo that reuses a cached model (`cache.py`)
  train afresh.
- `run(config, out_dir, progress) -> Result`: numbered steps, writes only into `out_dir`,
  every file declared for it in `DEMOS[name].outputs` included (it takes their names from there,
  so the registry and the code cannot drift apart; its tiny-config test checks each is written), and
  reports through
  `progress(stage, done, total, note)`. Under `accelerate launch` only the main process
  writes (`Runtime.is_main_process`); the others return an empty `Result`.

To add one: write the module, add its `DemoInfo` (name, summary, output files) to `DEMOS` in
`demos/__init__.py`, point a topic's `demo:` at it, and add a tiny-config test that runs it end
to end. `learnapp demo NAME` then lists it, derives its options from `Config`, draws the
progress bar, creates the run folder and writes `metrics.json`: nothing else to register.
A demo module never imports another demo: what two demos share is a building block, a
module named for what it holds (tests/test_demos_independent.py checks it). The blocks:
`device.py` (device, precision, Accelerate), `data.py` (training images), `training.py` (the
training loop), `unets.py` (the UNet2DModel and its noise schedule), `noising.py` (the course's
corruption, DDPM's noise-prediction objective), `sampling.py` (sampling from noise with a
scheduler), `guidance.py` (classifier-free guidance, DDIM inversion), `loss_guidance.py` (guidance by a
loss on the predicted x0), `dit.py` (a DiT denoiser sized to match a UNet), `classifier.py` (the digit
judge), `conditioning.py` (the class-conditioned models cfg and ddim-inversion share),
`audio.py` (mel spectrograms), `output.py` (grids, GIFs, JSON), `cache.py` (trained models kept
between runs, `get_or_train`), `runs.py` (run folders and their status).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol


class Progress(Protocol):
    """How a demo reports progress: the CLI draws a rich bar, the app a Textual widget.
    `stage` names the current step ("train BasicUNet"); an empty `note` keeps the last one."""

    def __call__(self, stage: str, done: int, total: int, note: str = "") -> None: ...


@dataclass
class Result:
    files: list[Path] = field(default_factory=list)  # everything written, figures first
    metrics: dict[str, Any] = field(default_factory=dict)  # JSON-ready numbers for metrics.json
    summary: list[str] = field(default_factory=list)  # a few lines the CLI prints at the end


def no_progress(stage: str, done: int, total: int, note: str = "") -> None:
    """A `Progress` that shows nothing (non-main processes, benchmarks, tests)."""
