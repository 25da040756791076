"""The quiz modes: one registry read by `learnapp quiz --mode`, the home screen, the review
screens and the help.

Headless (no Textual, no srs): the CLI reads it to build `--help`, which must start fast.
Adding a mode means one `QuizMode` here and the module of its review screen, named by
`screen` and imported only when a session in that mode starts.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class QuizMode:
    name: str  # the `--mode` choice and `ReviewOptions.mode`
    cli_help: str  # what choosing it does, in the words of `learnapp quiz --help`
    home_key: str  # the key that starts it on the topics screen (a Textual key name)
    home_label: str  # that key's label in the footer
    home_hint: str  # what that key does, in the home screen's hint line
    home_help: str  # that key's line in the help
    grading: str  # how an answer becomes an FSRS rating
    logged_as: str  # the review log's mode (store.FLASHCARD or store.CHOICE): only recall fits parameters
    review_keys: tuple[tuple[str, str], ...]  # (keys, what they do) on its review screen, for the help
    screen: str  # "module:Class" of its review screen, a learnapp.tui.review.ReviewScreen

    @property
    def home_key_display(self) -> str:
        return self.home_key.title() if len(self.home_key) > 1 else self.home_key


FLASHCARDS = QuizMode(
    name="flashcards",
    cli_help="reveal and rate yourself",
    home_key="enter",
    home_label="Review",
    home_hint="reviews the selected row",
    home_help="review what is due, then new cards",
    grading="you rate your own recall",
    logged_as="flashcard",
    review_keys=(
        ("Space", "show the answer (flashcards)"),
        ("1 2 3 4", "Again, Hard, Good, Easy: each shows the next interval it gives"),
    ),
    screen="learnapp.tui.flashcards:FlashcardScreen",
)

CHOICE = QuizMode(
    name="choice",
    # recognition, not recall: learnapp/optimize.py and stats' true retention count flashcards only
    cli_help="pick among four answers (recognition, not recall: these answers move the schedule but neither fit "
    "your parameters in progress --optimize nor count in true retention)",
    home_key="m",
    home_label="Multiple choice",
    home_hint="asks multiple choice",
    home_help="the same, as multiple choice",
    grading="wrong is Again; right is Good, or Hard when slower than a calm reading",
    logged_as="choice",
    review_keys=(
        ("1 2 3 4", "pick an option (multiple choice); ↑ ↓ Enter work too"),
        ("Enter", "next card after a graded choice"),
    ),
    screen="learnapp.tui.choice:ChoiceScreen",
)

MODES: dict[str, QuizMode] = {mode.name: mode for mode in (FLASHCARDS, CHOICE)}
DEFAULT_MODE = FLASHCARDS.name


def cli_help() -> str:
    """The help of `--mode`: every mode's effect, then the default."""
    return f"{', or '.join(mode.cli_help for mode in MODES.values())} (default: {DEFAULT_MODE})"
