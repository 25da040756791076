"""The shipped exercises: `content/exercises/<name>/` with `exercise.yaml`, `starter.py`, `solution.py`.

Light: yaml and the standard library only (listing exercises must not load torch).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from learnapp.errors import UserError
from learnapp.exercises.checks import CHECKERS

FIELDS = {"title", "topic", "checker", "hints", "why"}


@dataclass(frozen=True)
class Exercise:
    name: str
    title: str
    topic: str
    checker: str
    hints: tuple[str, ...]
    why: str
    folder: Path

    @property
    def starter(self) -> Path:
        return self.folder / "starter.py"

    @property
    def solution(self) -> Path:
        return self.folder / "solution.py"


def exercises_dir() -> Path:
    """content/exercises in a checkout; learnapp/deck/exercises once installed."""
    package = Path(__file__).resolve().parent.parent
    installed, checkout = package / "deck" / "exercises", package.parent / "content" / "exercises"
    return installed if installed.is_dir() else checkout


def exercise_names(folder: Path | None = None) -> frozenset[str]:
    """The names the catalog ships (its folders), without reading them: the deck's `exercise:` check."""
    root = folder or exercises_dir()
    return frozenset(path.name for path in root.iterdir() if (path / "exercise.yaml").is_file())


def _load_one(folder: Path) -> Exercise:
    path = folder / "exercise.yaml"
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise UserError(f"{path}: cannot read: {exc}") from None
    if not isinstance(data, dict) or set(data) != FIELDS:
        raise UserError(f"{path}: needs exactly the fields {', '.join(sorted(FIELDS))}")
    if data["checker"] not in CHECKERS:
        raise UserError(f"{path}: unknown checker {data['checker']!r}")
    hints = data["hints"]
    if not isinstance(hints, list) or not hints or not all(isinstance(h, str) and h.strip() for h in hints):
        raise UserError(f"{path}: hints must be a non-empty list of texts")
    for name in ("starter.py", "solution.py"):
        if not (folder / name).is_file():
            raise UserError(f"{folder}: {name} is missing")
    return Exercise(
        folder.name,
        str(data["title"]),
        str(data["topic"]),
        data["checker"],
        tuple(hints),
        " ".join(str(data["why"]).split()),
        folder,
    )


def load_exercises(folder: Path | None = None) -> tuple[Exercise, ...]:
    """Every exercise, sorted by name."""
    root = folder or exercises_dir()
    return tuple(_load_one(root / name) for name in sorted(exercise_names(root)))


def find(name: str, exercises: tuple[Exercise, ...] | None = None) -> Exercise:
    """The exercise called `name`; UserError (one line, the known names) if there is none."""
    known = exercises if exercises is not None else load_exercises()
    for exercise in known:
        if exercise.name == name:
            return exercise
    raise UserError(f"no exercise {name!r}; known: {', '.join(e.name for e in known)}")
