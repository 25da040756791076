"""One registry of quiz modes (learnapp/quiz_modes.py) that the CLI, the home screen, the review
screens and the help all read; and screens that never import each other."""

from __future__ import annotations

import ast
import dataclasses
import random
from pathlib import Path

import pytest
from srs_support import FakeClock, utc

from learnapp import quiz_modes
from learnapp.cli import build_parser
from learnapp.content import load_deck
from learnapp.review_options import ReviewOptions
from learnapp.store import Store
from learnapp.tui.app import LearnApp, review_screen_class
from learnapp.tui.help import HELP
from learnapp.tui.images import halfblock_image_widget
from learnapp.tui.review import ReviewScreen

TUI = Path(__file__).resolve().parent.parent / "learnapp" / "tui"


def test_the_cli_offers_exactly_the_registered_modes():
    quiz = build_parser()._subparsers._group_actions[0].choices["quiz"]
    (mode,) = [action for action in quiz._actions if action.dest == "mode"]
    assert list(mode.choices) == list(quiz_modes.MODES) and mode.default == quiz_modes.DEFAULT_MODE
    assert all(m.cli_help in mode.help for m in quiz_modes.MODES.values())


def test_each_mode_names_its_own_review_screen():
    classes = [review_screen_class(mode) for mode in quiz_modes.MODES.values()]
    assert all(issubclass(cls, ReviewScreen) and cls is not ReviewScreen for cls in classes)
    assert len(set(classes)) == len(classes)


def test_a_mode_that_names_no_review_screen_is_refused():
    wrong = dataclasses.replace(quiz_modes.CHOICE, screen="learnapp.tui.help:HelpScreen")
    with pytest.raises(TypeError, match="not a ReviewScreen"):
        review_screen_class(wrong)


def test_options_refuse_an_unknown_mode():
    with pytest.raises(ValueError, match="unknown quiz mode 'typing'"):
        ReviewOptions(mode="typing")


def test_the_help_lists_every_mode_and_its_keys():
    for mode in quiz_modes.MODES.values():
        assert f"| {mode.home_key_display} | {mode.home_help} |" in HELP and mode.grading in HELP
        assert all(f"| {keys} | {does} |" in HELP for keys, does in mode.review_keys)


@pytest.mark.parametrize("mode", list(quiz_modes.MODES.values()), ids=list(quiz_modes.MODES))
async def test_the_home_key_of_each_mode_starts_it_on_the_selected_topic(tmp_path, mode):
    deck = load_deck()
    with Store(tmp_path / "progress.sqlite3") as store:
        app = LearnApp(
            deck,
            store,
            runs_dir=tmp_path / "runs",
            clock=FakeClock(utc(2026, 3, 2, 12, 0)),
            rng=random.Random(7),
            image_widget=halfblock_image_widget(),
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.press("down", mode.home_key)
            await pilot.pause()
            screen = app.screen
            assert isinstance(screen, review_screen_class(mode))
            assert screen.options == ReviewOptions(topics=(deck.topics[0].id,), mode=mode.name)
            await pilot.press("escape")
            await pilot.pause()
            assert type(app.screen).__name__ == "HomeScreen"


@pytest.mark.parametrize("mode", list(quiz_modes.MODES.values()), ids=list(quiz_modes.MODES))
async def test_each_mode_logs_its_answers_under_its_own_mode(tmp_path, mode):
    from learnapp.store import MODES as LOGGED_MODES

    assert mode.logged_as in LOGGED_MODES
    deck = load_deck()
    with Store(tmp_path / "progress.sqlite3") as store:
        app = LearnApp(
            deck,
            store,
            runs_dir=tmp_path / "runs",
            clock=FakeClock(utc(2026, 3, 2, 12, 0)),
            rng=random.Random(7),
            image_widget=halfblock_image_widget(),
            start=ReviewOptions(mode=mode.name),
        )
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            # flashcards: reveal, then Good; choice: pick the first option (right or wrong, it is logged)
            await pilot.press(*(("space", "3") if mode is quiz_modes.FLASHCARDS else ("1",)))
            await pilot.pause()
        [review] = list(store.reviews())
    assert review.mode == mode.logged_as


def tui_imports() -> dict[str, set[str]]:
    """learnapp.tui module -> the learnapp.tui modules it imports (at any depth in the file)."""
    graph: dict[str, set[str]] = {}
    for path in TUI.glob("*.py"):
        imported: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module == "learnapp.tui":
                imported |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and (node.module or "").startswith("learnapp.tui."):
                imported.add(node.module.removeprefix("learnapp.tui."))
            elif isinstance(node, ast.Import):
                names = (alias.name for alias in node.names)
                imported |= {name.removeprefix("learnapp.tui.") for name in names if name.startswith("learnapp.tui.")}
        graph[path.stem] = imported - {path.stem}
    return graph


def test_no_screen_imports_the_app_or_another_screen():
    graph = tui_imports()
    screens = {"home", "review", "flashcards", "choice", "progress", "demo", "help"}
    assert screens <= graph.keys()
    for screen in screens:
        # a mode's screen builds on the shared review screen; nothing else among the screens
        allowed = {"review"} if screen in {"flashcards", "choice"} else set()
        assert graph[screen] & (screens | {"app"}) <= allowed, screen
    assert {"home", "progress", "demo", "help", "review"} <= graph["app"]
