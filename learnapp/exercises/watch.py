"""Re-check a file on every save until it passes (`watchfiles`, imported only here)."""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from pathlib import Path

from learnapp.exercises.verdict import Verdict

WAKE_MS = 500  # how often the watcher also looks at the file itself (a save before it started)


def _digest(path: Path) -> bytes | None:
    try:
        return hashlib.sha256(path.read_bytes()).digest()
    except OSError:
        return None


def watch(path: Path, check: Callable[[], Verdict], stop: threading.Event | None = None) -> Verdict | None:
    """Check now, then after every change of the file's content, until a check passes or `stop` is set.

    Returns the passing verdict, or None when stopped. The folder is watched, not the file, because
    many editors save by writing a new file and renaming it over the old one. Checks follow content:
    two events for one save check once, and a save made before the watcher was ready is not missed.
    """
    from watchfiles import watch as changes

    checked = _digest(path)
    verdict = check()
    if verdict.passed:
        return verdict
    for _ in changes(
        path.parent,
        stop_event=stop,
        rust_timeout=WAKE_MS,
        yield_on_timeout=True,
        watch_filter=lambda change, name: Path(name).name == path.name,
    ):
        current = _digest(path)
        if current is None or current == checked:
            continue
        checked = current
        verdict = check()
        if verdict.passed:
            return verdict
    return None
