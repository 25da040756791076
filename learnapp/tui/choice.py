"""Multiple choice: pick one of four options (keys 1-4, arrows and Enter, or the mouse); the
session grades the pick (srs.MultipleChoice). The verdict sits under the scrolling card, so
it and the right answer stay in view however long the options are."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.widgets import OptionList, Static

from learnapp.content import Item
from learnapp.formulas import to_unicode
from learnapp.srs import MultipleChoice
from learnapp.tui.review import ReviewScreen


class ChoiceScreen(ReviewScreen):
    BINDINGS = [
        Binding("1", "pick(0)", "Pick", key_display="1-4"),
        *(Binding(str(n + 1), f"pick({n})", f"Pick {n + 1}", show=False) for n in range(1, 4)),
    ]

    choice: MultipleChoice | None = None
    graded = False  # a graded choice is on screen, waiting for Enter

    def compose_answer(self) -> ComposeResult:
        yield OptionList(id="options")

    def compose_controls(self) -> ComposeResult:
        yield Static(id="feedback")

    def present(self, item: Item) -> None:
        self.graded = False
        self.choice = MultipleChoice.make(self.deck, item, self.rng)
        options = self.query_one(OptionList)
        options.clear_options()
        options.add_options([f"{n}. {to_unicode(text)}" for n, text in enumerate(self.choice.options, 1)])
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
                f"[b]Wrong.[/b] The answer is {self.choice.answer + 1}:\n{to_unicode(self.choice.item.answer)}\n"
                "Enter: next card"
            )
            feedback.set_classes("wrong")
        feedback.display = True
        self.graded = True
        self.answered = self.choice.item
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
