"""Where runs live: `<runs dir>/<demo>/<YYYYmmdd-HHMMSS>[-N]/`. Torch-free, for the app too."""

from __future__ import annotations

from pathlib import Path


def runs_of(base: Path, demo: str) -> list[Path]:
    """Every run folder of `demo`, oldest first (the names sort by time)."""
    folder = base / demo
    if not folder.is_dir():
        return []
    return sorted((p for p in folder.iterdir() if p.is_dir()), key=_order)


def latest_run(base: Path, demo: str) -> Path | None:
    runs = runs_of(base, demo)
    return runs[-1] if runs else None


def _order(path: Path) -> tuple[str, int]:
    # "20261126-063015-2" is the second run in that second: after "20261126-063015", before "-10"
    suffix = path.name[16:]
    return path.name[:15], int(suffix) if suffix.isdigit() else 1
