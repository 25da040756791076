"""Trained models kept between runs, so one demo can reuse what another trained.

A cache entry is a `save_pretrained` folder under `<cache>/models/<kind>-<hash>/`, where the
hash covers every setting that changes the trained weights. `DDPMPipeline.from_pretrained`
(or the matching class) loads it; `learnapp.json` beside the weights records the settings,
the entry's version and the training metrics. Entries are written to a temporary folder and
renamed into place, so an interrupted training never leaves a half-written entry behind.

A block module that owns a kind of model gets it with `get_or_train`, as
`conditioning.pretrained_models` does for cfg and ddim-inversion::

    unet, info = cache.get_or_train("cfg-unet", settings, DDPMPipeline, train_it, retrain=config.retrain)

`version` is the kind's format: raising it (the training code changed what a model means)
makes older entries of that kind count as missing, so they are trained again.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from learnapp import paths
from learnapp.errors import UserError

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
    version: int = 1

    def exists(self) -> bool:
        """An entry of this version is stored (entries from before versions count as version 1)."""
        return (self.path / INFO_FILE).is_file() and self.info().get("version", 1) == self.version

    def info(self) -> dict[str, Any]:
        try:
            info = json.loads((self.path / INFO_FILE).read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError) as exc:
            raise self._damaged(exc) from None
        if not isinstance(info, dict) or not isinstance(info.get("metrics"), dict):
            raise self._damaged(ValueError(f"{INFO_FILE} lacks the training metrics"))
        return info

    def store(self, pipeline: Any, metrics: dict[str, Any]) -> Path:
        """Save `pipeline` (anything with `save_pretrained`) as this entry, replacing an older one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        staging = self.path.with_name(f"{self.path.name}.tmp-{os.getpid()}")
        shutil.rmtree(staging, ignore_errors=True)
        pipeline.save_pretrained(staging)
        info = {
            "kind": self.kind,
            "version": self.version,
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
        except Exception as exc:
            raise self._damaged(exc) from None
        finally:
            if shown:
                logging.enable_progress_bar()

    def _damaged(self, exc: Exception) -> UserError:
        reason = " ".join(str(exc).replace(f"{self.path}{os.sep}", "").split())[:200] or type(exc).__name__
        return UserError(
            f"the cached model {self.path} is damaged ({reason}); run again with --retrain to train it afresh"
        )


def entry(kind: str, settings: dict[str, Any], version: int = 1) -> Entry:
    return Entry(kind, dict(settings), models_dir() / key(kind, settings), version)


def get_or_train(
    kind: str,
    settings: dict[str, Any],
    load_as: Any,
    train: Callable[[], tuple[Any, dict[str, Any]]],
    *,
    retrain: bool = False,
    store: bool = True,
    version: int = 1,
) -> tuple[Any, dict[str, Any]]:
    """The model of `kind` trained with `settings`: loaded from the cache with `load_as.from_pretrained`,
    or (when missing, or `retrain`) `train()`'s `(model, metrics)`, stored in the cache if `store`
    (under `accelerate launch`, by the main process only). Returns the model and what a run's
    metrics.json says of it: where it is cached, whether this run trained it, its training metrics."""
    found = entry(kind, settings, version)
    if not retrain and found.exists():
        model = found.load(load_as)
        return model, {"cache": str(found.path), "trained_now": False, **found.info()["metrics"]}
    model, metrics = train()
    if store:
        found.store(model, metrics)
    return model, {"cache": str(found.path), "trained_now": True, **metrics}
