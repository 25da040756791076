"""The keys of every screen, on `?`."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Markdown

HELP = """\
# Keys

Everything works with the keyboard; the mouse works too (click rows, buttons, options).

## Topics (home)
| key | does |
| --- | --- |
| ↑ ↓ | choose a topic (or *All topics*) |
| Enter | review what is due, then new cards |
| m | the same, as multiple choice |
| c | practise every card of the topic; the schedule is not touched |
| d | the topic's demo: its newest results, and running it |
| p | progress per topic |

## Review
| key | does |
| --- | --- |
| Space | show the answer (flashcards) |
| 1 2 3 4 | Again, Hard, Good, Easy: each shows the next interval it gives |
| 1 2 3 4 | pick an option (multiple choice); ↑ ↓ Enter work too |
| Enter | next card after a graded choice; home after the summary |
| u | undo the last answer |
| Esc | back to the topics (every answer is already saved) |

## Everywhere
| key | does |
| --- | --- |
| ? | this help |
| q | quit (nothing is lost: each answer is saved when given) |
"""


class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "dismiss", "Close")]

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="help"):
            yield Markdown(HELP)
