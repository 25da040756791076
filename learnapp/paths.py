"""Where learnapp keeps things. Every location can be moved by an environment variable,
so tests and learners with unusual setups never touch the default folders."""

from __future__ import annotations

import os
from pathlib import Path

DATA_DIR_ENV = "LEARNAPP_DATA_DIR"
CACHE_DIR_ENV = "LEARNAPP_CACHE_DIR"


def data_dir(override: str | Path | None = None) -> Path:
    """Progress database and demo runs: --data-dir, else $LEARNAPP_DATA_DIR, else the user data dir."""
    if override:
        return Path(override).expanduser()
    if os.environ.get(DATA_DIR_ENV):
        return Path(os.environ[DATA_DIR_ENV]).expanduser()
    import platformdirs

    return platformdirs.user_data_path("learnapp", appauthor=False)


def runs_dir(override: str | Path | None = None) -> Path:
    """Demo outputs: runs/<demo>/<timestamp>/ under the data dir."""
    return data_dir(override) / "runs"


def cache_dir() -> Path:
    """Trained models and downloaded data sets, reusable across runs: $LEARNAPP_CACHE_DIR or the user cache dir."""
    if os.environ.get(CACHE_DIR_ENV):
        return Path(os.environ[CACHE_DIR_ENV]).expanduser()
    import platformdirs

    return platformdirs.user_cache_path("learnapp", appauthor=False)
