"""The keys of every screen, on `?`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

from learnapp.quiz_modes import MODES


def _rows(rows: list[tuple[str, str]]) -> str:
    return "\n".join(["| key | does |", "| --- | --- |", *(f"| {keys} | {does} |" for keys, does in rows)])


HOME_KEYS = [
    ("↑ ↓", "choose a topic (or *All topics*)"),
    *((mode.home_key_display, mode.home_help) for mode in MODES.values()),
    ("c", "practise every card of the topic; the schedule is not touched"),
    ("d", "the topic's demo: its newest results, and running it"),
    ("p", "progress per topic"),
    ("e", "the topic's first exercise: write the code, checked on every save (*All topics*: the list)"),
]
REVIEW_KEYS = [
    *(row for mode in MODES.values() for row in mode.review_keys),
    ("Enter", "home after the summary"),
    ("u", "undo the last answer"),
    ("e", "the card's exercise, once its answer is shown or after it was rated Again"),
    ("Esc", "back to the topics (every answer is already saved)"),
]
EXERCISE_KEYS = [
    ("↑ ↓", "choose an exercise"),
    ("Enter", "open it: copy the starter to your file (never over yours) and check it on every save"),
    ("c", "check your file now"),
    ("h", "the next hint"),
    ("Esc", "back"),
]
GRADING = "\n".join(f"- *{mode.name}*: {mode.grading}" for mode in MODES.values())
EVERYWHERE_KEYS = [
    ("?", "this help"),
    ("q", "quit (nothing is lost: each answer is saved when given)"),
]

HELP = f"""\
# Keys

Everything works with the keyboard; the mouse works too (click rows, buttons, options).

## Topics (home)
{_rows(HOME_KEYS)}

## Review
{_rows(REVIEW_KEYS)}

How each mode grades an answer:
{GRADING}

## Exercises
{_rows(EXERCISE_KEYS)}

After a pass the reference solution and why it matters are shown.

## Everywhere
{_rows(EVERYWHERE_KEYS)}
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
