"""Progress: the figures of `learnapp progress` — per topic, with the same columns, true
retention per week and month next to the desired retention, the calendar of answers per day,
and the leeches — each figure with what it means."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from learnapp import stats
from learnapp.content import Deck
from learnapp.leeches import LEECH_LAPSES
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
            with VerticalScroll(id="progress-body"):
                yield DataTable(id="progress-table", cursor_type="row", zebra_stripes=True)
                for name in ("recall-help", "retention", "retention-help", "calendar", "leeches"):
                    yield Static(id=name, classes="progress-part", markup=False)
        yield Footer()

    def on_mount(self) -> None:
        now = self.clock()
        figures = stats.progress(self.deck, self.store, now=now)
        table = self.query_one(DataTable)
        headers, rows = stats.table(figures)
        table.add_columns(*headers)
        for cells in rows:
            table.add_row(*cells)
        self.query_one("#totals", Static).update(
            f"Learning day {figures.learning_day} · {figures.reviews_today} answered today · "
            f"streak {figures.streak} day(s) · {figures.total.mastered} of {figures.total.items} mastered"
        )
        self.query_one("#recall-help", Static).update(stats.PREDICTED_RECALL_HELP)
        self.query_one("#retention", Static).update("\n".join(stats.retention_rows(figures)))
        self.query_one("#retention-help", Static).update(stats.TRUE_RETENTION_HELP)
        calendar = stats.review_calendar(self.store, now=now)
        self.query_one("#calendar", Static).update("\n".join(["Answers per day:", *stats.heatmap_rows(calendar)]))
        self.query_one("#leeches", Static).update("\n".join(leech_lines(figures)))


def leech_lines(figures: stats.Progress) -> list[str]:
    if not figures.leeches:
        return [f"Leeches: none (a card forgotten {LEECH_LAPSES} times becomes one)."]
    return [
        f"Leeches (forgotten {LEECH_LAPSES} times or more: understand before you memorise; the card browser, "
        "b on the topics, suspends them):",
        *(f"  {leech.item_id}  {leech.lapses} lapses  {leech.question}" for leech in figures.leeches),
    ]
