"""Flashcards: reveal the answer, rate your recall 1-4; each button shows the interval that
rating gives, computed once by the session and saved as shown."""

from __future__ import annotations

from fsrs import Rating
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.widgets import Button, Static

from learnapp.content import Item
from learnapp.formulas import to_unicode
from learnapp.tui.review import ReviewScreen

RATING_KEYS = {str(int(rating)): rating for rating in Rating}


class FlashcardScreen(ReviewScreen):
    BINDINGS = [
        Binding("space", "reveal", "Show answer"),
        *(Binding(key, f"rate('{key}')", rating.name) for key, rating in RATING_KEYS.items()),
    ]

    revealed = False

    def compose_answer(self) -> ComposeResult:
        yield Static(id="answer")
        yield Vertical(id="answer-formulas", classes="formulas")

    def compose_controls(self) -> ComposeResult:
        with Horizontal(id="ratings"):
            for key, rating in RATING_KEYS.items():
                button = Button(rating.name, id=f"rate-{key}", classes=f"rating {rating.name.lower()}")
                # keys 1-4 rate; a focused button would also take Space, the reveal key
                button.can_focus = False
                yield button

    def present(self, item: Item) -> None:
        self.revealed = False
        answer = self.query_one("#answer", Static)
        answer.update(to_unicode(item.answer))
        answer.display = False
        self.query_one("#answer-formulas").remove_children()
        self.query_one("#ratings").display = False

    def hide_answer_area(self) -> None:
        self.query_one("#answer").display = False
        self.query_one("#answer-formulas").remove_children()
        self.query_one("#ratings").display = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal":
            return not self.revealed and not self.finished
        if action == "rate":
            return self.revealed and not self.finished
        return super().check_action(action, parameters)

    def action_reveal(self) -> None:
        self.revealed = True
        self.answered = self.session.current
        self.query_one("#answer").display = True
        if self.session.current is not None:
            self.show_formulas(self.session.current.answer, "#answer-formulas")
        for rating, outcome in self.session.previews().items():
            self.query_one(f"#rate-{int(rating)}", Button).label = f"{int(rating)} {rating.name} · {outcome.label}"
        self.query_one("#ratings").display = True
        self.refresh_bindings()

    def action_rate(self, key: str) -> None:
        if self.save(RATING_KEYS[key]):
            self.show_card()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        key = (event.button.id or "").removeprefix("rate-")
        if self.check_action("rate", (key,)):
            self.action_rate(key)
