"""Trained models kept between runs, so one demo can reuse what another trained.

A cache entry is a `save_pretrained` folder under `<cache>/models/<kind>-<hash>/`, where the
hash covers every setting that changes the trained weights. `DDPMPipeline.from_pretrained`
(or the matching pipeline class) loads it; `learnapp.json` beside the weights records the
settings and the training metrics. Entries are written to a temporary folder and renamed
into place, so an interrupted training never leaves a half-written entry behind.

Get-or-train, as `cfg.pretrained_models` does it for cfg and ddim-inversion::

    entry = cache.entry("cfg-unet", settings)
    if entry.exists() and not retrain:
        pipeline = entry.load(DDPMPipeline)
    else:
        pipeline, log = train(...)
        entry.store(pipeline, log.summary())    # main process only
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from learnapp import paths

from .output import write_json

INFO_FILE = "learnapp.json"


def models_dir() -> Path:
    return paths.cache_dir() / "models"


def key(kind: str, settings: dict[str, Any]) -> str:
    canonical = json.dumps(settings, sort_keys=True, default=list)
    return f"{kind}-{hashlib.sha256(canonical.encode()).hexdigest()[:12]}"


@dataclass(frozen=True)
class Entry:
    kind: str
    settings: dict[str, Any]
    path: Path

    def exists(self) -> bool:
        return (self.path / INFO_FILE).is_file()

    def info(self) -> dict[str, Any]:
        return json.loads((self.path / INFO_FILE).read_text(encoding="utf-8"))

    def store(self, pipeline: Any, metrics: dict[str, Any]) -> Path:
        """Save `pipeline` (anything with `save_pretrained`) as this entry, replacing an older one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        pipeline.save_pretrained(staging)
        info = {
            "kind": self.kind,
            "settings": self.settings,
            "metrics": metrics,
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_json(staging / INFO_FILE, info)
        shutil.rmtree(self.path, ignore_errors=True)
        os.replace(staging, self.path)
        return self.path

    def load(self, pipeline_class: Any) -> Any:
        """The stored pipeline, e.g. `entry.load(DDPMPipeline)`; safetensors weights, nothing unpickled.
        Quietly: diffusers' "Loading pipeline components" bar would break into the demo's own progress display."""
        from diffusers.utils import logging

        shown = logging.is_progress_bar_enabled()
        logging.disable_progress_bar()
        try:
            return pipeline_class.from_pretrained(self.path, use_safetensors=True)
        finally:
            if shown:
                logging.enable_progress_bar()


def entry(kind: str, settings: dict[str, Any]) -> Entry:
    return Entry(kind, dict(settings), models_dir() / key(kind, settings))
