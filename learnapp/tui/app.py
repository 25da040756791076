"""The Textual app: it receives its deck and store, and only presents what srs/stats compute.

Screens: home (topics), review (flashcards or multiple choice), progress, demo, help.
The app never imports torch: a demo started from the demo screen runs in a worker thread
that imports it then.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from textual.app import App
from textual.binding import Binding

from learnapp.content import Deck
from learnapp.srs import NEW_PER_DAY, Clock, Session, utc_now
from learnapp.store import Store
from learnapp.tui.images import ImageWidget, detect_image_widget

Mode = Literal["flashcards", "choice"]


@dataclass(frozen=True)
class ReviewOptions:
    """What to review: the choices of `learnapp quiz` and of the home screen."""

    topics: tuple[str, ...] = ()
    mode: Mode = "flashcards"
    cram: bool = False
    new_per_day: int = NEW_PER_DAY


class LearnApp(App[None]):
    CSS_PATH = "learnapp.tcss"
    TITLE = "learnapp"
    BINDINGS = [
        Binding("q", "quit", "Quit"),
        Binding("question_mark", "help", "Help", key_display="?"),
    ]

    def __init__(
        self,
        deck: Deck,
        store: Store,
        *,
        runs_dir: Path,
        start: ReviewOptions | None = None,
        clock: Clock = utc_now,
        rng: random.Random | None = None,
        image_widget: type[ImageWidget] | None = None,
    ) -> None:
        super().__init__()
        self.deck = deck
        self.store = store
        self.runs_dir = runs_dir
        self.start = start
        self.clock = clock
        self.rng = rng or random.Random()
        self._image_widget = image_widget
        self.new_per_day = start.new_per_day if start else NEW_PER_DAY

    @property
    def image_widget(self) -> type[ImageWidget]:
        """The widget class that draws pictures, chosen the first time one is needed."""
        if self._image_widget is None:
            self._image_widget = detect_image_widget(self)
        return self._image_widget

    def on_mount(self) -> None:
        # `learnapp quiz` draws its first card before anything else; the topics come after it
        if self.start is not None:
            self.review(self.start)
        else:
            self.show_home()

    def show_home(self) -> None:
        """Back to the topics, from any screen (they are made the first time they are needed)."""
        from learnapp.tui.home import HomeScreen

        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()
        if not isinstance(self.screen, HomeScreen):
            self.push_screen(HomeScreen())

    def review(self, options: ReviewOptions) -> None:
        """Open a review session over the options' topics (all if none)."""
        from learnapp.tui.review import review_screen

        session = Session(
            self.deck,
            self.store,
            clock=self.clock,
            topics=options.topics or None,
            cram=options.cram,
            new_per_day=options.new_per_day,
        )
        self.push_screen(review_screen(session, options))

    def action_help(self) -> None:
        from learnapp.tui.help import HelpScreen

        self.push_screen(HelpScreen())
