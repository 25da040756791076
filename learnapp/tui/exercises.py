"""Exercises: the list by topic with each one's status, and for the exercise under the cursor its
file, the last verdict, hints and, after a pass, the reference solution and why it matters.

Enter opens an exercise: its starter is copied to the learner's file (never over one that is
there) and a worker thread re-checks the file on every save (exercises/watch.py) until it passes.
`c` checks now, in a worker too. A check runs the learner's code in a child process
(exercises/runner.py): it takes seconds, so it never runs on the UI thread. The workers only
post messages; the store is written here, on the UI thread, which owns its connection. Leaving
the screen stops the watcher.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from rich.markup import escape
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.message import Message
from textual.screen import Screen
from textual.widgets import DataTable, Footer, Static

from learnapp.content import Deck
from learnapp.exercises import workspace
from learnapp.exercises.catalog import Exercise
from learnapp.exercises.verdict import Verdict
from learnapp.store import Store

Check = Callable[[Exercise, Path], Verdict]
MARKS = {"not started": " ", "failing": "✗", "passed": "✓"}


class ExercisesScreen(Screen[None]):
    BINDINGS = [
        # priority: the table would take Enter for itself
        Binding("enter", "open", "Open, check on save", priority=True),
        Binding("c", "check", "Check now"),
        Binding("h", "hint", "Next hint"),
        Binding("escape", "leave", "Back"),
    ]

    class Checking(Message, bubble=False):
        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    class Checked(Message, bubble=False):
        def __init__(self, verdict: Verdict) -> None:
            super().__init__()
            self.verdict = verdict

    def __init__(
        self,
        exercises: tuple[Exercise, ...],
        deck: Deck,
        store: Store,
        *,
        data_dir: Path | None,
        check: Check,
        open_name: str | None = None,
    ) -> None:
        super().__init__()
        order = [topic.id for topic in deck.topics]
        rank = {topic: n for n, topic in enumerate(order)}
        self.exercises = tuple(sorted(exercises, key=lambda e: (rank.get(e.topic, len(order)), e.name)))
        self.titles = {topic.id: topic.title for topic in deck.topics}
        self.store = store
        self.data_dir = data_dir
        self.check = check
        self.open_name = open_name
        self.verdicts: dict[str, Verdict] = {}  # this visit's verdicts, with their details
        self.checking: set[str] = set()
        self.watched: str | None = None
        self.stop_watching = threading.Event()
        self.watch_done = threading.Event()  # set when the watcher's thread has returned
        self.watch_done.set()

    def compose(self) -> ComposeResult:
        yield Static(id="exercises-header")
        with Horizontal(id="exercises-body"):
            yield DataTable(id="exercise-list", cursor_type="row", zebra_stripes=True)
            with VerticalScroll(id="exercise-detail"):
                yield Static(id="exercise-info")
                yield Static(id="exercise-verdict")
                yield Static(id="exercise-hints")
                yield Static(id="exercise-solution")
        yield Footer()

    def on_mount(self) -> None:
        table = self.query_one(DataTable)
        table.add_columns("topic", "exercise")
        table.add_column("status", key="status")
        for exercise in self.exercises:
            table.add_row(self.titles.get(exercise.topic, exercise.topic), exercise.name, "", key=exercise.name)
        self.refresh_states()
        if self.open_name is not None:
            names = [exercise.name for exercise in self.exercises]
            table.move_cursor(row=names.index(self.open_name))
            self.open(self.exercise(self.open_name))
        table.focus()
        self.show_detail()

    def on_unmount(self) -> None:
        self.stop_watching.set()

    # --- what is shown -------------------------------------------------------------------

    def exercise(self, name: str) -> Exercise:
        return next(exercise for exercise in self.exercises if exercise.name == name)

    def path(self, exercise: Exercise) -> Path:
        return workspace.exercise_file(exercise, self.data_dir)

    def current(self) -> Exercise:
        table = self.query_one(DataTable)
        key = table.coordinate_to_cell_key(table.cursor_coordinate).row_key.value
        assert key is not None
        return self.exercise(key)

    def refresh_states(self) -> None:
        table = self.query_one(DataTable)
        states = workspace.states(self.exercises, self.store, self.data_dir)
        self.status = {state.exercise.name: state.status for state in states}
        for state in states:
            table.update_cell(state.exercise.name, "status", f"{MARKS[state.status]} {state.status}")
        passed = sum(status == "passed" for status in self.status.values())
        self.query_one("#exercises-header", Static).update(
            f"[b]Exercises[/b] · write the diffusion code yourself · {passed} of {len(states)} passed"
        )

    def show_detail(self) -> None:
        exercise = self.current()
        path = self.path(exercise)
        status = self.status[exercise.name]
        if exercise.name == self.watched:
            where = "checked on every save"
        elif path.exists():
            where = "Enter: check it on every save"
        else:
            where = "not started: Enter copies the starter here"
        self.query_one("#exercise-info", Static).update(
            f"[b]{escape(exercise.title)}[/b]\nYour file: {escape(str(path))} ({where})\nStatus: {status}"
        )
        self.query_one("#exercise-verdict", Static).update(escape(self.verdict_text(exercise)))
        shown = self.store.hints_shown(exercise.name)
        hints = [f"Hint {n} of {len(exercise.hints)}: {text}" for n, text in enumerate(exercise.hints[:shown], 1)]
        self.query_one("#exercise-hints", Static).update(escape("\n".join(hints) or "h: a hint"))
        solution = self.query_one("#exercise-solution", Static)
        solution.display = status == "passed"
        if status == "passed":
            text = exercise.solution.read_text(encoding="utf-8").rstrip()
            solution.update(escape(f"The reference solution:\n\n{text}\n\nWhy it matters: {exercise.why}"))

    def verdict_text(self, exercise: Exercise) -> str:
        if exercise.name in self.checking:
            return "Checking ..."
        if exercise.name in self.verdicts:
            return self.verdicts[exercise.name].text()
        checks = self.store.exercise_checks(exercise.name)
        if not checks:
            return "Not checked yet. c: check now"
        when, passed, _, message = checks[-1]
        return f"Last check ({when:%Y-%m-%d %H:%M}): {'PASSED' if passed else 'failed'}: {message}"

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self.show_detail()
        self.refresh_bindings()

    # --- checks, in workers ----------------------------------------------------------------

    def start_file(self, exercise: Exercise) -> Path:
        """The learner's file, copied from the starter if there is none (theirs is never replaced)."""
        path = self.path(exercise)
        workspace.start(exercise, path)
        return path

    def open(self, exercise: Exercise) -> None:
        """Watch the exercise's file: check it now and on every save until it passes."""
        path = self.start_file(exercise)
        self.stop_watching.set()
        self.stop_watching, self.watch_done = threading.Event(), threading.Event()
        self.watched = exercise.name
        stop, done = self.stop_watching, self.watch_done

        def watch_file() -> None:
            from learnapp.exercises.watch import watch

            try:
                watch(path, lambda: self.run_check(exercise, path), stop)
            finally:
                done.set()

        self.run_worker(watch_file, name=f"watch {exercise.name}", group="watch", thread=True)

    def run_check(self, exercise: Exercise, path: Path) -> Verdict:
        """One check (on a worker thread): its start and its verdict go to the screen by message."""
        self.post_message(self.Checking(exercise.name))
        verdict = self.check(exercise, path)
        self.post_message(self.Checked(verdict))
        return verdict

    def on_exercises_screen_checking(self, message: Checking) -> None:
        self.checking.add(message.name)
        self.show_detail()
        self.refresh_bindings()

    def on_exercises_screen_checked(self, message: Checked) -> None:
        verdict = message.verdict
        workspace.record(self.store, verdict)
        self.checking.discard(verdict.exercise)
        self.verdicts[verdict.exercise] = verdict
        if verdict.passed and self.watched == verdict.exercise:
            self.watched = None  # the watcher returns after a pass
        self.refresh_states()
        self.show_detail()
        self.refresh_bindings()
        if verdict.passed:
            self.notify(f"{verdict.exercise} passed", timeout=4)

    # --- keys --------------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "check":  # one check of a file at a time
            return not self.query(DataTable) or self.current().name not in self.checking
        return True

    def action_open(self) -> None:
        self.open(self.current())
        self.show_detail()

    def action_check(self) -> None:
        exercise = self.current()
        path = self.start_file(exercise)
        self.run_worker(
            lambda: self.run_check(exercise, path), name=f"check {exercise.name}", group="check", thread=True
        )

    def action_hint(self) -> None:
        workspace.next_hint(self.current(), self.store)
        self.show_detail()

    def action_leave(self) -> None:
        self.dismiss()
