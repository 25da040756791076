"""Review: what every quiz mode's screen shares — the status line, the question, undo, the
end-of-session summary. Each mode (quiz_modes.MODES) subclasses `ReviewScreen` in a module of
its own and lays out its answer area.

Every answer goes straight to `Session.answer`, which commits it before returning: quitting
at any moment loses nothing. The screen dismisses itself when the learner leaves.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from pathlib import Path

from fsrs import Rating
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Static

from learnapp.content import Deck, Item
from learnapp.errors import UserError
from learnapp.formulas import spans, to_unicode
from learnapp.leeches import Remedy, is_leech, remedy
from learnapp.quiz_modes import MODES
from learnapp.review_options import ReviewOptions
from learnapp.srs import Clock, Session, Summary, format_interval
from learnapp.stats import due_forecast
from learnapp.store import Store
from learnapp.tui.images import ImageWidget, picture
from learnapp.tui.messages import OpenDemo, OpenExercises


class ReviewScreen(Screen[None]):
    BINDINGS = [
        Binding("enter", "next", "Next"),
        Binding("u", "undo", "Undo"),
        Binding("e", "exercise", "Exercise"),
        Binding("escape", "leave", "Home"),
        Binding("d", "leech_demo", "Demo"),
        Binding("s", "suspend", "Suspend"),
    ]

    def __init__(
        self,
        deck: Deck,
        store: Store,
        options: ReviewOptions,
        *,
        clock: Clock,
        rng: random.Random,
        image_widget: Callable[[], ImageWidget] | None = None,
        formula_cache: Path | None = None,
    ) -> None:
        super().__init__()
        # formulas are drawn as pictures only when both are given and the widget is a graphics one
        self.image_widget = image_widget
        self.formula_cache = formula_cache
        self.deck = deck
        self.store = store
        self.options = options
        self.clock = clock
        self.rng = rng
        self.session = Session(
            deck,
            store,
            clock=clock,
            topics=options.topics or None,
            cram=options.cram,
            item_ids=options.item_ids or None,
            new_per_day=options.new_per_day,
            mode=MODES[options.mode].logged_as,
        )
        self.finished = False
        self.leech: Remedy | None = None  # the remedy on show while the card is a leech
        self.answered: Item | None = None  # the card whose answer is on screen (its exercise is one key away)
        self.offered: str | None = None  # the exercise of the card just rated Again

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with VerticalScroll(id="card"):
            yield Static(id="question")
            yield Vertical(id="question-formulas", classes="formulas")
            yield Static(id="leech", markup=False)
            yield from self.compose_answer()
        yield Static(id="offer")
        yield from self.compose_controls()
        yield Footer()

    def compose_answer(self) -> ComposeResult:
        """The mode's widgets inside the scrolling card, under the question."""
        yield from ()

    def compose_controls(self) -> ComposeResult:
        """The mode's widgets under the card, always in view."""
        yield from ()

    def on_mount(self) -> None:
        self.show_card()

    def show_card(self) -> None:
        self.answered = None
        offer = self.query_one("#offer", Static)
        offer.display = self.offered is not None
        if self.offered is not None:
            # understanding before memorising: a forgotten card offers the code that shows why
            offer.update(f"Rated Again: e opens the exercise {self.offered}, to understand it before memorising it")
        item = self.session.current
        if item is None:
            self.show_summary(self.session.summary())
            return
        self.finished = False
        topic = self.deck.topic(item.topic)
        mode = "practice, schedule untouched" if self.options.cram else self.options.mode
        origin = f"source #{item.source}" if item.source is not None else "added card"  # added cards have no number
        self.query_one("#status", Static).update(f"{topic.title} · {self.session.remaining} left · {mode} · {origin}")
        self.query_one("#question", Static).update(to_unicode(item.question))
        self.show_formulas(item.question, "#question-formulas")
        self.show_leech(item)
        self.present(item)
        self.refresh_bindings()

    def show_leech(self, item: Item | None) -> None:
        """Say so when the card is a leech, with its remedy and the keys that act on it."""
        self.leech = remedy(self.deck, item.id) if item is not None and is_leech(self.store, item.id) else None
        note = self.query_one("#leech", Static)
        note.display = self.leech is not None
        if self.leech is not None:
            note.update(f"{self.leech.message}\nd: the demo ({self.leech.demo}) · s: suspend this card")

    def show_formulas(self, text: str, container: str) -> None:
        """Put the formulas of `text` as pictures into `container`, once the card has painted."""
        self.query_one(container).remove_children()
        if self.image_widget is None or self.formula_cache is None or not spans(text):
            return
        self.call_after_refresh(self._start_formula_pictures, text, container)

    def _start_formula_pictures(self, text: str, container: str) -> None:
        from learnapp.tui.formula_images import is_graphics

        assert self.image_widget is not None
        image_widget = self.image_widget()  # may suspend the app once, to ask the terminal
        if is_graphics(image_widget):
            self.run_worker(
                lambda: self._render_formulas(text, container, image_widget),
                thread=True,
                group=container,
                exclusive=True,
            )

    def _render_formulas(self, text: str, container: str, image_widget: ImageWidget) -> None:
        from learnapp.tui.formula_images import formula_pngs

        assert self.formula_cache is not None
        try:
            paths = formula_pngs(text, self.formula_cache)
        except OSError:  # a cache that cannot be written: the Unicode text is there already
            return
        self.app.call_from_thread(self._mount_formulas, text, container, paths, image_widget)

    def _mount_formulas(self, text: str, container: str, paths: list[Path], image_widget: ImageWidget) -> None:
        item = self.session.current
        if item is None or text not in (item.question, item.answer):
            return  # the learner has moved on while they were drawn
        self.query_one(container).mount_all(picture(image_widget, path, "formula") for path in paths)

    def present(self, item: Item) -> None:
        """Lay out the current card for this mode."""

    def hide_answer_area(self) -> None:
        """Clear the mode's widgets for the summary."""

    def show_summary(self, summary: Summary) -> None:
        self.finished = True
        self.hide_answer_area()
        wrong = summary.answered - summary.recalled
        lines = [
            (
                f"Reviewed {summary.answered} card(s): {summary.recalled} right, {wrong} wrong "
                f"({summary.new_cards} new) in {format_interval(summary.time_spent)}."
            ),
        ]
        if summary.practice:
            lines.append("Practice only: the schedule was not changed.")
        else:
            forecast = due_forecast(self.deck, self.store, now=self.clock(), days=2)
            lines.append(f"Due tomorrow: {forecast[1][1]} card(s).")
        lines.append("Enter: back to the topics · u: undo the last answer")
        self.query_one("#status", Static).update("Session complete")
        self.query_one("#question", Static).update("\n".join(lines))
        self.query_one("#question-formulas").remove_children()
        self.show_leech(None)
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next":
            return self.finished
        if action == "undo":
            return bool(self.session.summary().answered)
        if action in ("leech_demo", "suspend"):
            # not once the card is answered (multiple choice shows its verdict before the next card)
            current = self.session.current
            return self.leech is not None and current is not None and current.id == self.leech.item_id
        if action == "exercise":
            return self.exercise() is not None
        return True

    def action_next(self) -> None:
        self.dismiss()

    def save(self, rating: Rating) -> bool:
        """Record the answer. A store that cannot write (a full disk) leaves the card on screen and says so."""
        item = self.session.current
        try:
            self.session.answer(rating)
        except UserError as exc:
            self.notify(
                f"{exc} This answer was not saved: free some space and answer again.", severity="error", timeout=15
            )
            return False
        self.offered = item.exercise if item is not None and rating == Rating.Again else None
        return True

    def action_undo(self) -> None:
        self.offered = None
        try:
            item = self.session.undo()
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        if item is not None:
            self.show_card()
            self.notify(f"Undone: {item.question[:60]}", timeout=2)

    def action_leech_demo(self) -> None:
        if self.leech is not None:
            self.post_message(OpenDemo(self.leech.demo))

    def action_suspend(self) -> None:
        if self.leech is None:
            return
        try:
            self.store.set_flags(self.leech.item_id, self.clock(), suspended=True)
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        self.session.skip()
        self.notify("Suspended: it leaves the reviews until you unsuspend it in the card browser.", timeout=4)
        self.show_card()

    def exercise(self) -> str | None:
        """The exercise `e` opens: the shown answer's card's, else the one offered after an Again."""
        if self.answered is not None and self.answered.exercise:
            return self.answered.exercise
        return self.offered

    def action_exercise(self) -> None:
        name = self.exercise()
        if name is not None:
            self.post_message(OpenExercises(name))

    def action_leave(self) -> None:
        self.dismiss()
