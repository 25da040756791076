"""The card browser: find cards by words (typos forgiven, browse.CardIndex), filter them by topic,
state, flag, leech and suspension, read one card's whole history, flag or suspend it, review it
now or open its topic's demo.

The index reads every card's state once when the screen opens and again after each change made
here; a query or a filter is answered from memory, so the table follows each key typed.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Checkbox, DataTable, Footer, Input, Select, Static

from learnapp.browse import STATES, CardIndex, history
from learnapp.content import Deck
from learnapp.errors import UserError
from learnapp.formulas import to_unicode
from learnapp.review_options import ReviewOptions
from learnapp.srs import Clock, build_queue, format_interval
from learnapp.store import Store
from learnapp.tui.messages import OpenDemo, OpenReview

SHOWN = 200  # rows in the table; the count above it says how many matched
TOGGLES = ("flagged", "leech", "suspended")


class BrowserScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "dismiss", "Back"),
        Binding("slash", "search", "Search", key_display="/"),
        Binding("f", "toggle_flag('flagged')", "Flag"),
        Binding("s", "toggle_flag('suspended')", "Suspend"),
        Binding("r", "review", "Review now"),
        Binding("d", "demo", "Demo"),
    ]

    def __init__(self, deck: Deck, store: Store, *, clock: Clock, new_per_day: int) -> None:
        super().__init__()
        self.deck = deck
        self.store = store
        self.clock = clock
        self.new_per_day = new_per_day
        self.index = CardIndex(deck, store)

    def compose(self) -> ComposeResult:
        with Vertical(id="browser"):
            yield Input(id="query", placeholder="search the questions, answers, tags and ids (typos are forgiven)")
            with Horizontal(id="filters"):
                yield Select[str](
                    [(topic.title, topic.id) for topic in self.deck.topics], id="topic-filter", prompt="every topic"
                )
                yield Select[str]([(state, state) for state in STATES], id="state-filter", prompt="every state")
                for name in TOGGLES:
                    yield Checkbox(name, id=f"only-{name}", compact=True)
            yield Static(id="found")
            yield DataTable(id="cards", cursor_type="row", zebra_stripes=True)
            yield Static(id="card-detail", markup=False)
            yield DataTable(id="history", cursor_type="none", show_cursor=False)
        yield Footer()

    def on_mount(self) -> None:
        self.query_one("#cards", DataTable).add_columns("id", "topic", "state", "due", "marks", "question")
        self.query_one("#history", DataTable).add_columns("when", "mode", "rating", "interval after", "state after")
        self.query_one("#history").display = False
        self.update_table()
        self.query_one(Input).focus()

    def selected(self) -> str | None:
        table = self.query_one("#cards", DataTable)
        if not table.row_count:
            return None
        return table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value

    def update_table(self) -> None:
        found = self.index.search(
            self.query_one(Input).value,
            topic=self.query_one("#topic-filter", Select).selection,
            state=self.query_one("#state-filter", Select).selection,
            **{name: self.query_one(f"#only-{name}", Checkbox).value for name in TOGGLES},
        )
        table = self.query_one("#cards", DataTable)
        keep = self.selected()
        table.clear()
        for card in found[:SHOWN]:
            due = card.due.astimezone().strftime("%Y-%m-%d") if card.due else "-"
            table.add_row(
                card.item.id,
                card.item.topic,
                card.state,
                due,
                card.marks,
                " ".join(to_unicode(card.item.question).split()),
                key=card.item.id,
            )
        if keep is not None and keep in table.rows:
            table.move_cursor(row=table.get_row_index(keep))
        more = f", the first {SHOWN} shown" if len(found) > SHOWN else ""
        self.query_one("#found", Static).update(
            f"{len(found)} card(s){more} · Enter: its history · F flagged, S suspended, L leech"
        )
        self.refresh_bindings()

    def on_input_changed(self, event: Input.Changed) -> None:
        self.update_table()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.query_one("#cards").focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.update_table()

    def on_checkbox_changed(self, event: Checkbox.Changed) -> None:
        self.update_table()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        if event.data_table.id == "cards" and event.row_key.value is not None:
            self.show_history(event.row_key.value)

    def show_history(self, item_id: str) -> None:
        item = self.deck.by_id[item_id]
        reps, lapses = self.store.counters(item_id)
        entries = history(self.store, item_id)
        self.query_one("#card-detail", Static).update(
            f"{item_id}: {' '.join(to_unicode(item.question).split())}\n{reps} answer(s), {lapses} lapse(s)"
            + ("" if entries else " · never reviewed")
        )
        table = self.query_one("#history", DataTable)
        table.clear()
        for entry in entries:
            table.add_row(
                entry.reviewed_at.astimezone().strftime("%Y-%m-%d %H:%M"),
                entry.mode,
                entry.rating.name,
                format_interval(entry.interval),
                entry.state_after,
            )
        table.display = bool(entries)

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_flag", "review", "demo"):
            # letters go to the query while it has the focus
            return self.selected() is not None and not isinstance(self.focused, Input)
        return True

    def action_search(self) -> None:
        self.query_one(Input).focus()

    def action_toggle_flag(self, flag: str) -> None:
        item_id = self.selected()
        if item_id is None:
            return
        row = self.index.rows.get(item_id)
        on = not (row is not None and getattr(row, flag))
        try:
            self.store.set_flags(item_id, self.clock(), **{flag: on})
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self.index.refresh()
        self.update_table()
        done = {"flagged": ("flagged", "flag removed"), "suspended": ("suspended: out of reviews", "back in reviews")}
        self.notify(f"{item_id}: {done[flag][0 if on else 1]}", timeout=3)

    def action_review(self) -> None:
        item_id = self.selected()
        if item_id is None:
            return
        queue = build_queue(self.deck, self.store, self.clock(), new_per_day=self.new_per_day, item_ids=(item_id,))
        # a card not due today (or suspended) is practised: reviewing it early would move its schedule
        self.post_message(OpenReview(ReviewOptions(item_ids=(item_id,), cram=not queue, new_per_day=self.new_per_day)))

    def action_demo(self) -> None:
        item_id = self.selected()
        if item_id is not None:
            self.post_message(OpenDemo(self.deck.topic(self.deck.by_id[item_id].topic).demo))
