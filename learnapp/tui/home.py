"""Home: the topics in course order with their counts and demo; start reviews from here."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from learnapp import stats

ALL = "__all__"


class HomeScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "review", "Review", priority=True),
        Binding("m", "choice", "Multiple choice"),
        Binding("c", "cram", "Practice"),
        Binding("d", "demo", "Demo"),
        Binding("p", "progress", "Progress"),
    ]

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
        app = self.app
        figures = stats.progress(app.deck, app.store, now=app.clock())
        table = self.query_one(DataTable)
        row = table.cursor_row
        table.clear()
        total = figures.total
        table.add_row("All topics", str(total.new), str(total.due_today), str(total.mastered), "", key=ALL)
        for topic, counts in zip(app.deck.topics, figures.topics):
            table.add_row(topic.title, str(counts.new), str(counts.due_today), str(counts.mastered), topic.demo,
                          key=topic.id)
        table.move_cursor(row=min(row, table.row_count - 1))
        self.query_one("#greeting", Static).update(
            f"[b]learnapp[/b] · {len(app.deck.items)} cards on diffusion models · "
            f"{total.due_today} due today · {figures.reviews_today} answered today · "
            f"streak {figures.streak} day(s)"
        )
        self.query_one("#hint", Static).update(
            f"Up to {app.new_per_day} new cards a day. Enter reviews the selected row, "
            "m asks multiple choice, c practises without touching the schedule."
        )

    def selected_topic(self) -> str | None:
        table = self.query_one(DataTable)
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        return None if key == ALL else key

    def _review(self, **changes) -> None:
        from learnapp.tui.app import ReviewOptions

        topic = self.selected_topic()
        self.app.review(ReviewOptions(topics=(topic,) if topic else (), new_per_day=self.app.new_per_day,
                                      **changes))

    def action_review(self) -> None:
        self._review()

    def action_choice(self) -> None:
        self._review(mode="choice")

    def action_cram(self) -> None:
        self._review(cram=True)

    def action_demo(self) -> None:
        from learnapp.tui.demo import DemoScreen

        topic = self.selected_topic() or self.app.deck.topics[0].id
        self.app.push_screen(DemoScreen(self.app.deck.topic(topic).demo))

    def action_progress(self) -> None:
        from learnapp.tui.progress import ProgressScreen

        self.app.push_screen(ProgressScreen())
