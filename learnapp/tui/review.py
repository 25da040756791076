"""Review: one card at a time, as flashcards (reveal, rate 1-4) or multiple choice (pick 1-4).

Every answer goes straight to `Session.answer`, which commits it before returning: quitting
at any moment loses nothing. Rating buttons show the interval each rating gives, computed
once by the session and saved as shown.
"""

from __future__ import annotations

from fsrs import Rating
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Button, Footer, OptionList, Static

from learnapp.content import Item
from learnapp.errors import UserError
from learnapp.srs import MultipleChoice, Session, Summary, format_interval
from learnapp.tui.app import ReviewOptions

RATING_KEYS = {str(int(rating)): rating for rating in Rating}


def review_screen(session: Session, options: ReviewOptions) -> ReviewScreen:
    screen_class = ChoiceScreen if options.mode == "choice" else FlashcardScreen
    return screen_class(session, options)


class ReviewScreen(Screen[None]):
    """What both modes share: the status line, the question, undo, the end-of-session summary."""

    BINDINGS = [
        Binding("enter", "next", "Next"),
        Binding("u", "undo", "Undo"),
        Binding("escape", "leave", "Home"),
    ]

    def __init__(self, session: Session, options: ReviewOptions) -> None:
        super().__init__()
        self.session = session
        self.options = options
        self.finished = False

    def compose(self) -> ComposeResult:
        yield Static(id="status")
        with VerticalScroll(id="card"):
            yield Static(id="question")
            yield from self.compose_answer()
        yield from self.compose_controls()
        yield Footer()

    def compose_answer(self) -> ComposeResult:
        yield from ()

    def compose_controls(self) -> ComposeResult:
        yield from ()

    def on_mount(self) -> None:
        self.show_card()

    def show_card(self) -> None:
        item = self.session.current
        if item is None:
            self.show_summary(self.session.summary())
            return
        self.finished = False
        topic = self.app.deck.topic(item.topic)
        mode = "practice, schedule untouched" if self.options.cram else self.options.mode
        self.query_one("#status", Static).update(
            f"{topic.title} · {self.session.remaining} left · {mode} · source #{item.source}"
        )
        self.query_one("#question", Static).update(item.question)
        self.present(item)
        self.refresh_bindings()

    def present(self, item: Item) -> None:
        """Lay out the current card for this mode."""

    def hide_answer_area(self) -> None:
        """Clear the mode's widgets for the summary."""

    def show_summary(self, summary: Summary) -> None:
        self.finished = True
        self.hide_answer_area()
        lines = [
            f"Reviewed {summary.answered} card(s): {summary.recalled} right, {summary.answered - summary.recalled} wrong "
            f"({summary.new_cards} new) in {format_interval(summary.time_spent)}.",
        ]
        if summary.practice:
            lines.append("Practice only: the schedule was not changed.")
        else:
            from learnapp.stats import due_forecast

            forecast = due_forecast(self.app.deck, self.app.store, now=self.app.clock(), days=2)
            lines.append(f"Due tomorrow: {forecast[1][1]} card(s).")
        lines.append("Enter: back to the topics · u: undo the last answer")
        self.query_one("#status", Static).update("Session complete")
        self.query_one("#question", Static).update("\n".join(lines))
        self.refresh_bindings()

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "next":
            return self.finished
        if action == "undo":
            return bool(self.session.summary().answered)
        return True

    def action_next(self) -> None:
        self.app.show_home()

    def save(self, rating: Rating) -> bool:
        """Record the answer. A store that cannot write (a full disk) leaves the card on screen and says so."""
        try:
            self.session.answer(rating)
        except UserError as exc:
            self.notify(f"{exc} This answer was not saved: free some space and answer again.",
                        severity="error", timeout=15)
            return False
        return True

    def action_undo(self) -> None:
        try:
            item = self.session.undo()
        except UserError as exc:
            self.notify(str(exc), severity="error")
            return
        if item is not None:
            self.show_card()
            self.notify(f"Undone: {item.question[:60]}", timeout=2)

    def action_leave(self) -> None:
        self.app.show_home()


class FlashcardScreen(ReviewScreen):
    BINDINGS = [
        Binding("space", "reveal", "Show answer"),
        *(Binding(key, f"rate('{key}')", rating.name) for key, rating in RATING_KEYS.items()),
    ]

    revealed = False

    def compose_answer(self) -> ComposeResult:
        yield Static(id="answer")

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
        answer.update(item.answer)
        answer.display = False
        self.query_one("#ratings").display = False

    def hide_answer_area(self) -> None:
        self.query_one("#answer").display = False
        self.query_one("#ratings").display = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal":
            return not self.revealed and not self.finished
        if action == "rate":
            return self.revealed and not self.finished
        return super().check_action(action, parameters)

    def action_reveal(self) -> None:
        self.revealed = True
        self.query_one("#answer").display = True
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


class ChoiceScreen(ReviewScreen):
    BINDINGS = [
        Binding("1", "pick(0)", "Pick", key_display="1-4"),
        *(Binding(str(n + 1), f"pick({n})", f"Pick {n + 1}", show=False) for n in range(1, 4)),
    ]

    choice: MultipleChoice | None = None
    graded = False  # a graded choice is on screen, waiting for Enter

    def compose_answer(self) -> ComposeResult:
        yield OptionList(id="options")
        yield Static(id="feedback")

    def present(self, item: Item) -> None:
        self.graded = False
        self.choice = MultipleChoice.make(self.app.deck, item, self.app.rng)
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([f"{n}. {text}" for n, text in enumerate(self.choice.options, 1)])
        options.disabled = False
        options.display = True
        options.highlighted = 0
        options.focus()
        self.query_one("#feedback").display = False

    def hide_answer_area(self) -> None:
        self.query_one(OptionList).display = False
        self.query_one("#feedback").display = False

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "pick":
            return not (self.finished or self.graded)
        if action == "next":
            return self.finished or self.graded
        return super().check_action(action, parameters)

    def action_pick(self, index: int) -> None:
        assert self.choice is not None
        rating = self.choice.grade(index, self.session.elapsed)
        if not self.save(rating):
            return
        feedback = self.query_one("#feedback", Static)
        if index == self.choice.answer:
            feedback.update(f"[b]Right[/b] ({rating.name}). Enter: next card")
            feedback.set_classes("right")
        else:
            feedback.update(
                f"[b]Wrong.[/b] The answer is {self.choice.answer + 1}:\n{self.choice.item.answer}\n"
                "Enter: next card"
            )
            feedback.set_classes("wrong")
        feedback.display = True
        self.graded = True
        self.query_one(OptionList).disabled = True
        self.refresh_bindings()

    def action_next(self) -> None:
        if self.finished:
            super().action_next()
        else:
            self.show_card()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        if self.check_action("pick", (event.option_index,)):
            self.action_pick(event.option_index)
