"""Where runs live: `<runs dir>/<demo>/<YYYYmmdd-HHMMSS>[-N]/`. Torch-free, for the app too.

Every run gets a folder of its own (a suffix keeps two runs in the same second apart) and
never writes outside it, so earlier runs are never overwritten.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from learnapp.errors import UserError



def new_run_dir(base: Path, demo: str, now: datetime | None = None) -> Path:
    """Create and return `base/<demo>/<YYYYmmdd-HHMMSS>[-N]`, a folder no other run has used."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    parent = base / demo
    try:
        parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, 1000):
            folder = parent / (stamp if attempt == 1 else f"{stamp}-{attempt}")
            try:
                folder.mkdir()  # fails if it exists: the atomic claim on the name
                return folder
            except FileExistsError:
                continue
    except OSError as exc:
        raise UserError(f"cannot create a run folder under {parent}: {exc.strerror or exc}") from None
    raise UserError(f"too many runs of {demo} in the same second under {parent}")


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
