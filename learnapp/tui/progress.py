"""Progress: the figures of `learnapp progress`, per topic, with the same columns."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from learnapp import stats


class ProgressScreen(Screen[None]):
    BINDINGS = [Binding("escape", "app.pop_screen", "Back"), Binding("p", "app.pop_screen", "Back", show=False)]

    def compose(self) -> ComposeResult:
        with Vertical(id="progress"):
            yield Static(id="totals")
            yield DataTable(id="progress-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        figures = stats.progress(self.app.deck, self.app.store, now=self.app.clock())
        table = self.query_one(DataTable)
        headers, rows = stats.table(figures)
        table.add_columns(*headers)
        for cells in rows:
            table.add_row(*cells)
        self.query_one("#totals", Static).update(
            f"Learning day {figures.learning_day} · {figures.reviews_today} answered today · "
            f"streak {figures.streak} day(s) · {figures.total.mastered} of {figures.total.items} mastered"
        )
