"""What to review: the choices of `learnapp quiz` and of the home screen. Headless."""

from __future__ import annotations

from dataclasses import dataclass

from learnapp.quiz_modes import DEFAULT_MODE, MODES, QuizMode
from learnapp.srs import NEW_PER_DAY


@dataclass(frozen=True)
class ReviewOptions:
    topics: tuple[str, ...] = ()  # none: every topic
    mode: str = DEFAULT_MODE  # a key of quiz_modes.MODES
    cram: bool = False
    new_per_day: int = NEW_PER_DAY
    item_ids: tuple[str, ...] = ()  # none: every card of the topics

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown quiz mode {self.mode!r} (known: {', '.join(MODES)})")

    @property
    def quiz_mode(self) -> QuizMode:
        return MODES[self.mode]
