"""The result of checking a learner's file: what the CLI prints and what a screen shows.

It travels from the check's child process to the app as JSON (`to_dict` / `from_dict`).
"""

from __future__ import annotations

import traceback
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Literal

Kind = Literal["passed", "failed", "error", "syntax", "timeout", "crashed"]
KINDS: tuple[str, ...] = ("passed", "failed", "error", "syntax", "timeout", "crashed")


@dataclass(frozen=True)
class Verdict:
    """`summary` is one line; `details` may span several (input, expected, got, difference).

    kind: passed; failed (wrong values); error (the learner's code raised, or the function is
    missing); syntax (the file does not compile); timeout; crashed (the check's process died).
    `location` is `file:line` when one is known; `mistake` names a recognised typical mistake.
    """

    exercise: str
    kind: Kind
    summary: str
    details: str = ""
    location: str | None = None
    mistake: str | None = None
    seconds: float | None = None

    @property
    def passed(self) -> bool:
        return self.kind == "passed"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Verdict:
        if data.get("kind") not in KINDS:
            raise ValueError(f"unknown verdict kind {data.get('kind')!r}")
        fields: dict[str, Any] = {key: data[key] for key in cls.__dataclass_fields__ if key in data}
        return cls(**fields)

    def text(self) -> str:
        """The verdict as the terminal shows it: a headline, then the details indented."""
        head = "PASSED" if self.passed else self.kind.upper()
        lines = [f"{head} {self.exercise}: {self.summary}"]
        lines += [f"  {line}" for line in self.details.splitlines()]
        return "\n".join(lines)


def _location(exc: BaseException, path: Path) -> str | None:
    """file:line of the deepest frame of the traceback that is in the learner's file."""
    frames = [frame for frame in traceback.extract_tb(exc.__traceback__) if Path(frame.filename) == path]
    return f"{path}:{frames[-1].lineno}" if frames else None


def raised(name: str, exc: BaseException, path: Path, doing: str) -> Verdict:
    """The verdict for an exception raised by the learner's code (`doing`: where it happened)."""
    location = _location(exc, path)
    where = f" at {location}" if location else ""
    if isinstance(exc, NotImplementedError):
        return Verdict(
            name,
            "error",
            f"not written yet: NotImplementedError{where}",
            "Replace the `raise NotImplementedError` with your code, then save.",
            location=location,
        )
    return Verdict(
        name,
        "error",
        f"{type(exc).__name__}{where} {doing}: {exc}",
        "".join(traceback.format_exception_only(exc)).strip(),
        location=location,
    )
