"""Progress: the figures of `learnapp progress`, per topic, with the same columns."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from learnapp import stats
from learnapp.content import Deck
from learnapp.srs import Clock
from learnapp.store import Store


class ProgressScreen(Screen[None]):
    BINDINGS = [Binding("escape", "dismiss", "Back"), Binding("p", "dismiss", "Back", show=False)]

    def __init__(self, deck: Deck, store: Store, *, clock: Clock) -> None:
        super().__init__()
        self.deck = deck
        self.store = store
        self.clock = clock

    def compose(self) -> ComposeResult:
        with Vertical(id="progress"):
            yield Static(id="totals")
            yield DataTable(id="progress-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        figures = stats.progress(self.deck, self.store, now=self.clock())
        table = self.query_one(DataTable)
        headers, rows = stats.table(figures)
        table.add_columns(*headers)
        for cells in rows:
            table.add_row(*cells)
        self.query_one("#totals", Static).update(
            f"Learning day {figures.learning_day} · {figures.reviews_today} answered today · "
            f"streak {figures.streak} day(s) · {figures.total.mastered} of {figures.total.items} mastered"
        )
