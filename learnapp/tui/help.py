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
    ("p", "progress: per topic, true retention, answers per day, leeches"),
    ("b", "the card browser: search the cards, see one's history, flag, suspend, review it now"),
    ("e", "the topic's first exercise: write the code, checked on every save (*All topics*: the list)"),
]
REVIEW_KEYS = [
    *(row for mode in MODES.values() for row in mode.review_keys),
    ("Enter", "home after the summary"),
    ("u", "undo the last answer"),
    ("d", "on a leech (a card forgotten again and again): its topic's demo"),
    ("s", "on a leech: suspend the card (the card browser brings it back)"),
    ("e", "the card's exercise, once its answer is shown or after it was rated Again"),
    ("Esc", "back to the topics (every answer is already saved)"),
]
BROWSER_KEYS = [
    ("/", "the search box: words of the question, answer, tags or id (typos are forgiven)"),
    ("Tab", "the filters: topic, state, flagged, leech, suspended only"),
    ("Enter", "in the search box: to the cards; on a card: its whole history"),
    ("f", "flag or unflag the card"),
    ("s", "suspend the card (it leaves the reviews) or bring it back"),
    ("r", "review the card now (practice, if it is not due today)"),
    ("d", "its topic's demo"),
    ("Esc", "back to the topics"),
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

## Card browser (b)
{_rows(BROWSER_KEYS)}

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
