"""Home: the topics in course order with their counts and demo; start reviews from here."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from learnapp import stats
from learnapp.content import Deck
from learnapp.exercises import workspace
from learnapp.exercises.catalog import Exercise
from learnapp.quiz_modes import DEFAULT_MODE, MODES
from learnapp.review_options import ReviewOptions
from learnapp.srs import Clock
from learnapp.store import Store
from learnapp.tui.messages import OpenBrowser, OpenDemo, OpenExercises, OpenProgress, OpenReview

ALL = "__all__"


class HomeScreen(Screen[None]):
    BINDINGS = [
        # priority: the topics table would take Enter for itself
        *(Binding(mode.home_key, f"review('{mode.name}')", mode.home_label, priority=True) for mode in MODES.values()),
        Binding("c", "cram", "Practice"),
        Binding("d", "demo", "Demo"),
        Binding("p", "progress", "Progress"),
        Binding("b", "browse", "Cards"),
        Binding("e", "exercise", "Exercise"),
    ]

    def __init__(
        self, deck: Deck, store: Store, *, clock: Clock, new_per_day: int, exercises: tuple[Exercise, ...] = ()
    ) -> None:
        super().__init__()
        self.deck = deck
        self.store = store
        self.clock = clock
        self.new_per_day = new_per_day
        self.exercises = exercises

    def compose(self) -> ComposeResult:
        with Vertical(id="home"):
            yield Static(id="greeting")
            yield DataTable(id="topics", cursor_type="row", zebra_stripes=True)
            yield Static(id="hint")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("topic", "new", "due", "mastered", "demo")

    def on_screen_resume(self) -> None:
        # counts change with every answer: recount each time the screen comes back
        # (and only then: `learnapp quiz` opens a review over it without drawing it first)
        self.refresh_counts()

    def refresh_counts(self) -> None:
        figures = stats.progress(self.deck, self.store, now=self.clock())
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        total = figures.total
        table.add_row("All topics", str(total.new), str(total.due_today), str(total.mastered), "", key=ALL)
        # the figures may end with a row for items no longer in the deck: no topic of its own
        for topic, counts in zip(self.deck.topics, figures.topics, strict=False):
            table.add_row(
                topic.title, str(counts.new), str(counts.due_today), str(counts.mastered), topic.demo, key=topic.id
            )
        table.move_cursor(row=min(row, table.row_count - 1))
        self.query_one("#greeting", Static).update(
            f"[b]learnapp[/b] · {len(self.deck.items)} cards on diffusion models · "
            f"{total.due_today} due today · {figures.reviews_today} answered today · "
            f"streak {figures.streak} day(s)" + self.exercises_passed()
        )
        keys = ", ".join(f"{mode.home_key_display} {mode.home_hint}" for mode in MODES.values())
        self.query_one("#hint", Static).update(
            f"Up to {self.new_per_day} new cards a day. {keys}, c practises without touching the schedule."
        )

    def exercises_passed(self) -> str:
        if not self.exercises:
            return ""
        passed, shipped = workspace.passed_count(self.exercises, self.store)
        return f" · exercises: {passed} of {shipped} passed"

    def selected_topic(self) -> str | None:
        table = self.query_one(DataTable)
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key == ALL else key

    def _review(self, mode: str = DEFAULT_MODE, cram: bool = False) -> None:
        topic = self.selected_topic()
        options = ReviewOptions(topics=(topic,) if topic else (), mode=mode, cram=cram, new_per_day=self.new_per_day)
        self.post_message(OpenReview(options))

    def action_review(self, mode: str) -> None:
        self._review(mode)

    def action_cram(self) -> None:
        self._review(cram=True)

    def action_demo(self) -> None:
        topic = self.selected_topic() or self.deck.topics[0].id
        self.post_message(OpenDemo(self.deck.topic(topic).demo))

    def action_progress(self) -> None:
        self.post_message(OpenProgress())

    def action_browse(self) -> None:
        self.post_message(OpenBrowser())

    def action_exercise(self) -> None:
        """The selected topic's first exercise (by name), or the list for All topics or a topic without one."""
        topic = self.selected_topic()
        names = sorted(exercise.name for exercise in self.exercises if exercise.topic == topic)
        self.post_message(OpenExercises(names[0] if names else None))
