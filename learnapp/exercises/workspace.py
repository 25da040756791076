"""The learner's side: their copy of each starter file, status, hints and recorded checks.

The learner's files live in `<data dir>/exercises/<name>.py`. Nothing here overwrites them: a
starter is copied only where no file is, and `reset` first moves the old file to a numbered backup.
Light: no torch (the listing and the hints must be instant).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

from learnapp.errors import UserError
from learnapp.exercises.catalog import Exercise
from learnapp.exercises.verdict import Verdict
from learnapp.paths import data_dir
from learnapp.store import Store

Status = Literal["not started", "failing", "passed"]


def exercise_file(exercise: Exercise, data_dir_override: str | Path | None = None) -> Path:
    return data_dir(data_dir_override) / "exercises" / f"{exercise.name}.py"


def _copy_new(source: Path, target: Path) -> None:
    """Copy through a temporary file, and never onto an existing file (os.link refuses one)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.")
    try:
        with os.fdopen(handle, "wb") as out:
            out.write(source.read_bytes())
        os.link(temporary, target)
    finally:
        os.unlink(temporary)


def start(exercise: Exercise, path: Path) -> bool:
    """Copy the starter to `path` unless a file is there; True if it was copied."""
    try:
        _copy_new(exercise.starter, path)
    except FileExistsError:
        return False
    except OSError as exc:
        raise UserError(f"cannot create {path}: {exc.strerror or exc}") from None
    return True


def reset(exercise: Exercise, path: Path) -> Path | None:
    """Start over: the old file moves to `<name>.py.bak` (or .2.bak, ...), the starter takes its place.

    Returns the backup's path (None if there was no file).
    """
    backup = None
    if path.exists():
        backup = path.with_name(f"{path.name}.bak")
        number = 1
        while backup.exists():
            number += 1
            backup = path.with_name(f"{path.name}.{number}.bak")
        try:
            os.link(path, backup)  # a hard link: refuses to replace an existing backup
            os.unlink(path)
        except OSError:
            shutil.copy2(path, backup)  # file systems without hard links
            os.unlink(path)
    start(exercise, path)
    return backup


@dataclass(frozen=True)
class ExerciseState:
    exercise: Exercise
    status: Status
    checks: int
    path: Path


def states(
    exercises: tuple[Exercise, ...], store: Store, data_dir_override: str | Path | None = None
) -> list[ExerciseState]:
    """Each exercise's status: passed (once is enough), failing (started or checked), not started."""
    results = store.exercise_results()
    out = []
    for exercise in exercises:
        path = exercise_file(exercise, data_dir_override)
        checks, ever_passed, _ = results.get(exercise.name, (0, False, False))
        status: Status = "passed" if ever_passed else "failing" if checks or path.exists() else "not started"
        out.append(ExerciseState(exercise, status, checks, path))
    return out


def record(store: Store, verdict: Verdict, now: datetime | None = None) -> None:
    duration = round(verdict.seconds * 1000) if verdict.seconds is not None else None
    store.record_check(verdict.exercise, now or datetime.now(UTC), verdict.passed, duration, verdict.summary)


def next_hint(exercise: Exercise, store: Store) -> tuple[int, str]:
    """The next unseen hint as (its number from 1, text); after the last, the last again."""
    shown = store.hints_shown(exercise.name)
    number = min(shown + 1, len(exercise.hints))
    if number > shown:
        store.set_hints_shown(exercise.name, number)
    return number, exercise.hints[number - 1]


def passed_count(exercises: tuple[Exercise, ...], store: Store) -> tuple[int, int]:
    """(exercises passed, exercises shipped): for `learnapp progress` and a home screen."""
    results = store.exercise_results()
    names = {exercise.name for exercise in exercises}
    return sum(1 for name, (_, ever, _) in results.items() if ever and name in names), len(exercises)
