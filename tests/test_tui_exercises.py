"""The exercises in the app, driven headless with Pilot: the Exercises screen, its checks and its
watcher, and the way cards and topics lead to an exercise."""

from __future__ import annotations

import asyncio
import dataclasses
import random
from pathlib import Path

import pytest
from srs_support import FakeClock, utc
from textual.widgets import DataTable, Static
from textual.widgets._footer import FooterKey

from learnapp.content import Deck, load_deck
from learnapp.exercises import workspace
from learnapp.exercises.catalog import Exercise, find, load_exercises
from learnapp.exercises.verdict import Verdict
from learnapp.review_options import ReviewOptions
from learnapp.store import Store
from learnapp.tui.app import LearnApp
from learnapp.tui.exercises import ExercisesScreen
from learnapp.tui.images import halfblock_image_widget
from learnapp.tui.review import ReviewScreen

SIZE = (120, 36)


@pytest.fixture(scope="module")
def deck():
    return load_deck()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "progress.sqlite3") as store:
        yield store


class FakeCheck:
    """Stands in for the child-process check: answers with the kinds given, in turn (the last one
    repeats), and remembers what it was asked to check."""

    def __init__(self, *kinds: str) -> None:
        self.kinds = kinds
        self.calls: list[tuple[str, str]] = []

    def __call__(self, exercise: Exercise, path: Path) -> Verdict:
        kind = self.kinds[min(len(self.calls), len(self.kinds) - 1)]
        self.calls.append((exercise.name, path.read_text(encoding="utf-8")))
        if kind == "passed":
            return Verdict(exercise.name, "passed", "all 6 cases match", seconds=0.01)
        return Verdict(
            exercise.name,
            "failed",
            "case t=10: values differ",
            "expected tensor (2, 3) torch.float32\ngot tensor (2, 3) torch.float32, max |diff| 0.5 at (0, 1)",
            seconds=0.01,
        )


def make_app(deck, store, tmp_path, check=None, start=None, deck_override: Deck | None = None) -> LearnApp:
    return LearnApp(
        deck_override or deck,
        store,
        runs_dir=tmp_path / "runs",
        start=start,
        clock=FakeClock(utc(2026, 3, 2, 12, 0)),
        rng=random.Random(7),
        image_widget=halfblock_image_widget(),
        data_dir=tmp_path / "data",
        exercise_check=check,
    )


def text(app: LearnApp, selector: str) -> str:
    return app.screen.query_one(selector, Static).render().plain


async def open_from_home(pilot, topic: str | None) -> ExercisesScreen:
    """Select `topic` (None: All topics) on home and press e."""
    table = pilot.app.screen.query_one(DataTable)
    table.move_cursor(row=table.get_row_index(topic or "__all__"))
    await pilot.press("e")
    await pilot.pause()
    assert isinstance(pilot.app.screen, ExercisesScreen)
    return pilot.app.screen


async def checks_recorded(pilot, store: Store, name: str, count: int) -> None:
    """Until `count` checks of `name` are in the store (the screen records each verdict it gets)."""
    for _ in range(1000):
        if len(store.exercise_checks(name)) >= count:
            return
        await pilot.pause()
    raise AssertionError(f"{name}: {len(store.exercise_checks(name))} check(s) recorded, waited for {count}")


async def test_home_opens_the_list_of_every_exercise_with_its_status(deck, store, tmp_path):
    workspace.record(store, Verdict("cfg", "passed", "all cases match"))
    app = make_app(deck, store, tmp_path, FakeCheck("failed"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert "exercises: 1 of 12 passed" in text(app, "#greeting")
        screen = await open_from_home(pilot, None)
        table = screen.query_one(DataTable)
        rows = [table.get_row_at(n) for n in range(table.row_count)]
        assert len(rows) == 12 and {row[1] for row in rows} == {e.name for e in load_exercises()}
        # by topic, in course order
        order = [topic.title for topic in deck.topics]
        assert [order.index(row[0]) for row in rows] == sorted(order.index(row[0]) for row in rows)
        status = {row[1]: row[2] for row in rows}
        assert status["cfg"] == "✓ passed" and status["add-noise"] == "  not started"
        assert screen.watched is None and not (tmp_path / "data" / "exercises").exists()  # nothing opened
        assert {"Check now", "Next hint", "Open, check on save"} <= {key.description for key in screen.query(FooterKey)}
        await pilot.press("escape")
        await pilot.pause()
        assert "exercises: 1 of 12 passed" in text(app, "#greeting")


async def test_the_reference_solution_in_the_learners_file_passes_the_real_check(deck, store, tmp_path):
    # the one test that runs the real check in its child process (slow: it loads torch and diffusers)
    exercise = find("add-noise")
    path = workspace.exercise_file(exercise, tmp_path / "data")
    path.parent.mkdir(parents=True)
    solution = exercise.solution.read_text(encoding="utf-8")
    path.write_text(solution, encoding="utf-8")
    app = make_app(deck, store, tmp_path)  # no fake: LearnApp's own check
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = await open_from_home(pilot, "diffusion-basics")  # its first exercise: add-noise
        assert screen.watched == "add-noise"
        await app.workers.wait_for_complete()  # the watcher returns after a pass
        await checks_recorded(pilot, store, "add-noise", 1)
        assert "PASSED add-noise" in text(app, "#exercise-verdict")
        assert "Why it matters" in text(app, "#exercise-solution")
        assert screen.query_one("#exercise-solution").display
    assert path.read_text(encoding="utf-8") == solution  # the learner's file was not replaced by the starter
    assert store.exercise_results()["add-noise"][1:] == (True, True)


async def test_open_copies_the_starter_then_rechecks_on_save_until_it_passes(deck, store, tmp_path):
    check = FakeCheck("failed", "passed")
    app = make_app(deck, store, tmp_path, check)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = await open_from_home(pilot, "fine-tuning-guidance")
        exercise = find("cfg")
        path = workspace.exercise_file(exercise, tmp_path / "data")
        assert path.read_text(encoding="utf-8") == exercise.starter.read_text(encoding="utf-8")
        assert str(path) in text(app, "#exercise-info").replace("\n", "")
        await checks_recorded(pilot, store, "cfg", 1)
        verdict = text(app, "#exercise-verdict")
        assert "FAILED cfg" in verdict and "expected tensor" in verdict and "got tensor" in verdict
        assert not screen.query_one("#exercise-solution").display
        await pilot.press("h")
        await pilot.pause()
        assert store.hints_shown("cfg") == 1 and exercise.hints[0][:30] in text(app, "#exercise-hints")
        path.write_text("def cfg(): ...  # the learner's fix\n", encoding="utf-8")  # a save
        assert await asyncio.to_thread(screen.watch_done.wait, 30)  # a pass ends the watch
        await checks_recorded(pilot, store, "cfg", 2)
        assert check.calls[-1] == ("cfg", "def cfg(): ...  # the learner's fix\n")
        assert "PASSED cfg" in text(app, "#exercise-verdict")
        assert "Why it matters" in text(app, "#exercise-solution")
    assert [passed for _, passed, _, _ in store.exercise_checks("cfg")] == [False, True]


async def test_check_now_runs_in_a_worker_and_never_overwrites_the_learners_file(deck, store, tmp_path):
    exercise = find("add-noise")
    path = workspace.exercise_file(exercise, tmp_path / "data")
    path.parent.mkdir(parents=True)
    path.write_text("# my own attempt\n", encoding="utf-8")
    check = FakeCheck("failed")
    app = make_app(deck, store, tmp_path, check)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await open_from_home(pilot, None)  # the list: the cursor is on add-noise, first in course order
        await pilot.press("c")
        await checks_recorded(pilot, store, "add-noise", 1)
        assert "FAILED add-noise" in text(app, "#exercise-verdict")
    assert check.calls == [("add-noise", "# my own attempt\n")]


async def test_leaving_the_screen_stops_the_watcher(deck, store, tmp_path):
    app = make_app(deck, store, tmp_path, FakeCheck("failed"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = await open_from_home(pilot, "diffusion-basics")
        await checks_recorded(pilot, store, "add-noise", 1)
        done = screen.watch_done
        assert not done.is_set()  # watching for the next save
        await pilot.press("escape")
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"
        assert await asyncio.to_thread(done.wait, 10)  # the watcher's thread has returned
        await app.workers.wait_for_complete()
        assert not any(worker.group == "watch" and worker.is_running for worker in app.workers)


async def test_a_card_rated_again_offers_its_exercise(deck, store, tmp_path):
    # a topic of only the cards that link to an exercise, so the first card has one
    topic = deck.topic("from-scratch")
    linked = dataclasses.replace(topic, items=tuple(item for item in topic.items if item.exercise))
    first = linked.items[0]
    app = make_app(
        deck, store, tmp_path, FakeCheck("failed"), start=ReviewOptions(new_per_day=5), deck_override=Deck((linked,))
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#offer").display
        assert "Exercise" not in {key.description for key in app.screen.query(FooterKey)}
        await pilot.press("space")
        await pilot.pause()
        assert "Exercise" in {key.description for key in app.screen.query(FooterKey)}  # once the answer is shown
        await pilot.press("1")  # Again
        await pilot.pause()
        assert app.screen.query_one("#offer").display
        assert f"e opens the exercise {first.exercise}" in text(app, "#offer")
        await pilot.press("e")
        await pilot.pause()
        assert isinstance(app.screen, ExercisesScreen) and app.screen.watched == first.exercise
        await checks_recorded(pilot, store, str(first.exercise), 1)
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)
        await pilot.press("space")
        await pilot.press("3")  # Good: the offer goes
        await pilot.pause()
        assert not app.screen.query_one("#offer").display


async def test_quitting_the_app_stops_the_watcher(deck, store, tmp_path):
    app = make_app(deck, store, tmp_path, FakeCheck("failed"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = await open_from_home(pilot, "audio")
        await checks_recorded(pilot, store, "mel-round-trip", 1)
        done = screen.watch_done
        await pilot.press("q")
    assert await asyncio.to_thread(done.wait, 10)
