"""The Textual app: it receives its deck and store, and only presents what srs/stats compute.

Screens: home (topics), review (one per quiz mode), progress, demo, exercises, help. The app builds
each screen with the collaborators it needs when a screen asks for it (messages.py); the
screens never import each other. The app never imports torch: a demo started from the demo
screen runs in a worker thread that imports it then.
"""

from __future__ import annotations

import importlib
import random
from pathlib import Path

from textual.app import App
from textual.binding import Binding

from learnapp import paths
from learnapp.content import Deck
from learnapp.exercises.catalog import Exercise, load_exercises
from learnapp.exercises.verdict import Verdict
from learnapp.quiz_modes import QuizMode
from learnapp.review_options import ReviewOptions
from learnapp.srs import NEW_PER_DAY, Clock, utc_now
from learnapp.store import Store
from learnapp.tui import messages
from learnapp.tui.browser import BrowserScreen
from learnapp.tui.demo import DemoScreen
from learnapp.tui.exercises import Check, ExercisesScreen
from learnapp.tui.help import HelpScreen
from learnapp.tui.home import HomeScreen
from learnapp.tui.images import ImageWidget, detect_image_widget
from learnapp.tui.progress import ProgressScreen
from learnapp.tui.review import ReviewScreen


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
        image_widget: ImageWidget | None = None,
        formula_cache: Path | None = None,
        data_dir: Path | None = None,
        exercises: tuple[Exercise, ...] | None = None,
        exercise_check: Check | None = None,
    ) -> None:
        super().__init__()
        self.deck = deck
        self.store = store
        self.runs_dir = runs_dir
        self.start = start
        self.clock = clock
        self.rng = rng or random.Random()
        self._image_widget = image_widget
        self.formula_cache = formula_cache or paths.cache_dir() / "formulas"
        self.new_per_day = start.new_per_day if start else NEW_PER_DAY
        self.data_dir = data_dir
        self.exercises = load_exercises() if exercises is None else exercises
        self.exercise_check = exercise_check or check_exercise

    def image_widget(self) -> ImageWidget:
        """The widget class that draws pictures, chosen the first time one is needed."""
        if self._image_widget is None:
            self._image_widget = detect_image_widget(self)
        return self._image_widget

    def on_mount(self) -> None:
        # `learnapp quiz` draws its first card before anything else; the topics come after it
        if self.start is not None:
            self.open_review(self.start)
        else:
            self.show_home()

    def show_home(self) -> None:
        """Back to the topics, from any screen (they are made the first time they are needed)."""
        while len(self.screen_stack) > 1 and not isinstance(self.screen, HomeScreen):
            self.pop_screen()
        if not isinstance(self.screen, HomeScreen):
            self.push_screen(
                HomeScreen(
                    self.deck, self.store, clock=self.clock, new_per_day=self.new_per_day, exercises=self.exercises
                )
            )

    def open_review(self, options: ReviewOptions) -> None:
        """A review session over the options' topics (all if none); home when it is dismissed."""
        screen_class = review_screen_class(options.quiz_mode)
        screen = screen_class(
            self.deck,
            self.store,
            options,
            clock=self.clock,
            rng=self.rng,
            image_widget=self.image_widget,
            formula_cache=self.formula_cache,
        )
        self.push_screen(screen, callback=lambda _: self.show_home())

    def on_open_review(self, message: messages.OpenReview) -> None:
        self.open_review(message.options)

    def on_open_demo(self, message: messages.OpenDemo) -> None:
        self.push_screen(DemoScreen(message.demo, self.deck, self.runs_dir, image_widget=self.image_widget))

    def on_open_progress(self, message: messages.OpenProgress) -> None:
        self.push_screen(ProgressScreen(self.deck, self.store, clock=self.clock))

    def on_open_browser(self, message: messages.OpenBrowser) -> None:
        self.push_screen(BrowserScreen(self.deck, self.store, clock=self.clock, new_per_day=self.new_per_day))

    def on_open_exercises(self, message: messages.OpenExercises) -> None:
        self.push_screen(
            ExercisesScreen(
                self.exercises,
                self.deck,
                self.store,
                data_dir=self.data_dir,
                check=self.exercise_check,
                open_name=message.name,
            )
        )

    def action_help(self) -> None:
        self.push_screen(HelpScreen())


def check_exercise(exercise: Exercise, path: Path) -> Verdict:
    """The real check: the learner's file in a child process (torch is imported there, not here)."""
    from learnapp.exercises.runner import check_file

    return check_file(exercise, path)


def review_screen_class(mode: QuizMode) -> type[ReviewScreen]:
    """The review screen the registry names for `mode` (imported here, so adding a mode touches no screen)."""
    module_name, _, class_name = mode.screen.partition(":")
    screen_class = getattr(importlib.import_module(module_name), class_name)
    if not (isinstance(screen_class, type) and issubclass(screen_class, ReviewScreen)):
        raise TypeError(f"quiz mode {mode.name}: {mode.screen} is not a ReviewScreen")
    return screen_class
