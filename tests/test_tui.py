"""The terminal app driven headless with Pilot, against a temporary store."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import random
import threading
import time

import pytest
from fsrs import Rating
from srs_support import FakeClock, dump, utc
from textual.widgets import Button, DataTable, OptionList, Static
from textual.widgets._footer import FooterKey

from learnapp.content import load_deck
from learnapp.review_options import ReviewOptions
from learnapp.store import Store
from learnapp.tui.app import LearnApp
from learnapp.tui.images import halfblock_image_widget
from learnapp.tui.review import ReviewScreen

SIZE = (100, 30)


@pytest.fixture(scope="module")
def deck():
    return load_deck()


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "progress.sqlite3") as store:
        yield store


@pytest.fixture
def clock():
    return FakeClock(utc(2026, 3, 2, 12, 0))


def make_app(deck, store, clock, tmp_path, start=None) -> LearnApp:
    return LearnApp(
        deck,
        store,
        runs_dir=tmp_path / "runs",
        start=start,
        clock=clock,
        rng=random.Random(7),
        image_widget=halfblock_image_widget(),
    )


def text(app: LearnApp, selector: str) -> str:
    """What a Static shows, markup applied."""
    return app.screen.query_one(selector, Static).render().plain


async def answer_flashcard(pilot, key: str) -> None:
    await pilot.press("space")
    await pilot.pause()
    await pilot.press(key)
    await pilot.pause()


async def test_flashcard_session_end_to_end_logs_exactly_the_keys_pressed(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(topics=("diffusion-basics",), new_per_day=3))
    shown = []
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        for key in ("4", "1", "4", "4"):  # Again brings the second card back after the others
            shown.append(text(app, "#question"))
            await answer_flashcard(pilot, key)
            clock.advance(minutes=2)
        assert text(app, "#status") == "Session complete"
        assert "Reviewed 4 card(s): 3 right, 1 wrong (3 new)" in text(app, "#question")
        await pilot.press("enter")
        await pilot.pause()
        assert type(app.screen).__name__ == "HomeScreen"
    log = list(store.reviews())
    questions = {item.id: item.question for item in deck.items}
    assert [int(r.rating) for r in log] == [4, 1, 4, 4]
    assert [questions[r.item_id] for r in log] == shown
    assert [r.item_id for r in log] == ["dm-001", "dm-002", "dm-003", "dm-002"]


async def test_the_footer_lists_the_keys_that_work_now(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(new_per_day=1))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        footer = {key.description for key in app.screen.query(FooterKey)}
        assert {"Show answer", "Quit", "Help"} <= footer and "Again" not in footer
        await pilot.press("space")
        await pilot.pause()
        footer = {key.description for key in app.screen.query(FooterKey)}
        assert {"Again", "Hard", "Good", "Easy"} <= footer and "Show answer" not in footer


async def test_an_answer_the_store_cannot_write_is_reported_and_the_card_stays(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(new_per_day=2))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = text(app, "#question")
        store._db.execute("PRAGMA query_only = ON")  # every write now fails, as on a full disk
        await answer_flashcard(pilot, "3")
        assert text(app, "#question") == first and app.is_running
        assert any("not saved" in note.message for note in app._notifications)
        store._db.execute("PRAGMA query_only = OFF")  # space freed: the same card is answered
        await pilot.press("3")
        await pilot.pause()
        assert text(app, "#question") != first
    assert [r.item_id for r in store.reviews()] == ["dm-001"]


async def test_rating_buttons_show_the_interval_that_is_saved(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(new_per_day=1))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("space")
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, ReviewScreen)
        easy = screen.session.previews()[Rating.Easy]
        assert str(screen.query_one("#rate-4", Button).label) == f"4 Easy · {easy.label}"
        await pilot.click("#rate-4")  # the mouse works too
        await pilot.pause()
    (saved,) = store.reviews()
    assert saved.rating == Rating.Easy and saved.after.due - saved.reviewed_at == easy.interval


async def test_every_answer_is_saved_before_the_app_quits(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions())
    async with app.run_test(size=SIZE) as pilot:
        await answer_flashcard(pilot, "3")
        # read by another connection while the app still runs: already committed
        assert len(dump(store.path)[1]) == 1


async def test_multiple_choice_right_then_wrong(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(topics=("audio",), mode="choice"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        first = screen.choice
        assert first.item.topic == "audio" and len(first.options) == 4
        assert app.screen.query_one(OptionList).option_count == 4
        await pilot.press(str(first.answer + 1))
        await pilot.pause()
        assert text(app, "#feedback").startswith("Right")
        await pilot.press("enter")
        await pilot.pause()
        second = screen.choice
        wrong = (second.answer + 1) % 4
        await pilot.press(str(wrong + 1))
        await pilot.pause()
        feedback = text(app, "#feedback")
        assert feedback.startswith("Wrong") and second.item.answer in feedback
    log = list(store.reviews())
    assert [(r.item_id, r.rating) for r in log] == [(first.item.id, Rating.Good), (second.item.id, Rating.Again)]


async def test_choice_by_mouse_and_slow_answers_are_hard(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(mode="choice"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        choice = app.screen.choice
        clock.advance(seconds=choice.slow_after.total_seconds() + 1)
        options = app.screen.query_one(OptionList)
        options.highlighted = choice.answer
        options.action_select()
        await pilot.pause()
    (saved,) = store.reviews()
    assert saved.rating == Rating.Hard


async def test_undo_removes_the_answer_and_shows_the_card_again(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions())
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        first = text(app, "#question")
        await answer_flashcard(pilot, "4")
        assert text(app, "#question") != first
        await pilot.press("u")
        await pilot.pause()
        assert text(app, "#question") == first
        assert not app.screen.query_one("#answer").display  # back to the unrevealed question
    assert dump(store.path) == ([], [])


async def test_topic_filter_only_shows_that_topic(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(topics=("ddim-inversion",), new_per_day=5))
    async with app.run_test(size=SIZE) as pilot:
        for _ in range(5):
            await answer_flashcard(pilot, "4")
    topics = {deck.by_id[r.item_id].topic for r in store.reviews()}
    assert topics == {"ddim-inversion"} and store.review_count() == 5


async def test_cram_leaves_the_schedule_alone(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(new_per_day=2))
    async with app.run_test(size=SIZE) as pilot:
        await answer_flashcard(pilot, "3")
        await answer_flashcard(pilot, "4")
    before = dump(store.path)
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(topics=("diffusion-basics",), cram=True))
    async with app.run_test(size=SIZE) as pilot:
        assert "practice" in text(app, "#status")
        for key in ("1", "3", "4", "2"):
            await answer_flashcard(pilot, key)
    assert dump(store.path) == before


async def test_home_lists_topics_in_course_order_and_starts_a_topic_review(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        titles = [table.get_row_at(n)[0] for n in range(table.row_count)]
        assert titles == ["All topics"] + [t.title for t in deck.topics]
        audio = str(len(deck.topic("audio").items))
        assert table.get_row_at(9) == ["Diffusion for audio", audio, "0", "0", "audio-spectrograms"]
        for _ in range(9):
            await pilot.press("down")
        await pilot.press("enter")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen) and app.screen.session.topics == ("audio",)
        await answer_flashcard(pilot, "3")
        await pilot.press("escape")
        await pilot.pause()
        # counts refresh on return: one audio card left "new" and is now due today
        assert table.get_row_at(9)[:3] == ["Diffusion for audio", str(int(audio) - 1), "1"]


async def test_progress_screen_shows_the_cli_figures(deck, store, clock, tmp_path):
    from learnapp import stats

    app = make_app(deck, store, clock, tmp_path, ReviewOptions(new_per_day=1))
    async with app.run_test(size=SIZE) as pilot:
        await answer_flashcard(pilot, "4")
        await pilot.press("escape", "p")
        await pilot.pause()
        table = app.screen.query_one(DataTable)
        rows = [table.get_row_at(n) for n in range(table.row_count)]
    _, expected = stats.table(stats.progress(deck, store, now=clock()))
    assert rows == [list(r) for r in expected]
    assert rows[0][:4] == ["Diffusion basics", "10", "9", "0"] and rows[-1][0] == "total"


async def test_demo_screen_shows_the_newest_run(deck, store, clock, tmp_path):
    from PIL import Image

    for stamp, loss in (("20260301-100000", 0.5), ("20260302-110000", 0.02)):
        run = tmp_path / "runs" / "unet-training" / stamp
        run.mkdir(parents=True)
        Image.new("RGB", (64, 32), "white").save(run / "loss_curves.png")
        (run / "metrics.json").write_text(
            json.dumps({"status": "complete", "device": {"name": "cpu"}, "metrics": {"final_loss": loss}})
        )
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "down", "d")
        await pilot.pause()
        latest = text(app, "#demo-latest")
        assert "20260302-110000" in latest and "final_loss: 0.02" in latest
        paths = [str(s.content) for s in app.screen.query(".figure-path")]
        assert paths == [str(run / "loss_curves.png")]
        assert len(app.screen.query(".figure")) == 1


@pytest.mark.parametrize("damage", ["empty", "truncated"])
async def test_a_damaged_image_in_a_run_folder_is_a_placeholder_with_its_path(deck, store, clock, tmp_path, damage):
    """What a kill or a full disk leaves while a figure is saved must not take the app down."""
    from PIL import Image

    run = tmp_path / "runs" / "unet-training" / "20260302-110000"
    run.mkdir(parents=True)
    png = run / "loss_curves.png"
    Image.frombytes("RGB", (64, 32), random.Random(1).randbytes(64 * 32 * 3)).save(png)
    png.write_bytes(b"" if damage == "empty" else png.read_bytes()[:1000])
    (run / "metrics.json").write_text(json.dumps({"status": "complete", "device": {"name": "cpu"}}))
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "down", "d")
        await pilot.pause()
        assert app.is_running and type(app.screen).__name__ == "DemoScreen"
        (placeholder,) = app.screen.query(".figure-unreadable")
        assert str(png) in placeholder.render().plain
        assert not app.screen.query(".figure")


async def test_at_80x24_the_verdict_and_the_right_answer_stay_in_view_with_long_options(
    deck, store, clock, tmp_path, monkeypatch
):
    """Four options of 200 characters fill the card: the verdict after a wrong pick is still on screen."""
    from learnapp.srs import MultipleChoice

    texts = [f"Option {n}: {'a long and plausible answer ' * 8}"[:199] + "." for n in range(4)]

    def long_options(cls, deck, item, rng, size=4):
        return cls(dataclasses.replace(item, answer=texts[2]), tuple(texts), 2)

    monkeypatch.setattr(MultipleChoice, "make", classmethod(long_options))
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(mode="choice"))
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("1")  # wrong: the answer is option 3
        await pilot.pause()
        feedback = app.screen.query_one("#feedback", Static)
        assert feedback.render().plain.startswith("Wrong") and texts[2] in feedback.render().plain.replace("\n", " ")
        region = feedback.region
        assert region.height >= 5 and region.y >= 0 and region.bottom <= 24 - 1  # above the footer
        assert app.screen.region.contains_region(region)


async def test_help_and_small_terminal(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions())
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.press("space")
        await pilot.pause()
        for button in app.screen.query(Button):
            region = button.region
            assert region.width > 0 and region.bottom <= 24 and region.right <= 80
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, ReviewScreen)


# --- snapshots ---------------------------------------------------------------------------------


def test_snapshot_home(snap_compare, deck, store, clock, tmp_path):
    assert snap_compare(make_app(deck, store, clock, tmp_path), terminal_size=SIZE)


def test_snapshot_review_revealed(snap_compare, deck, store, clock, tmp_path, monkeypatch):
    # FSRS fuzzes the Easy interval with the global generator, which whatever ran before in this
    # process may have drawn from after any seed: give it a generator of its own
    import fsrs.scheduler

    monkeypatch.setattr(fsrs.scheduler, "random", random.Random(3).random)
    app = make_app(deck, store, clock, tmp_path, ReviewOptions())
    assert snap_compare(app, press=["space"], terminal_size=SIZE)


def test_snapshot_progress(snap_compare, deck, store, clock, tmp_path):
    assert snap_compare(make_app(deck, store, clock, tmp_path), press=["p"], terminal_size=SIZE)


async def test_running_a_demo_from_its_screen_keeps_the_ui_live(deck, store, clock, tmp_path, monkeypatch):
    """`r` runs the quick preset in a worker; progress shows, then the new run's figures."""
    from learnapp.demos import noise_corruption

    tiny = noise_corruption.Config(image_size=12, images=1, levels=3)
    monkeypatch.setattr(noise_corruption.Config, "quick", classmethod(lambda cls: tiny))
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "d")
        await pilot.pause()
        assert "No run yet" in text(app, "#demo-latest")
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert text(app, "#demo-run-status").startswith("Finished: ")
        run = next((tmp_path / "runs" / "noise-corruption").iterdir())
        assert str(run) in text(app, "#demo-latest") and "(complete" in text(app, "#demo-latest")
        paths = [str(s.content) for s in app.screen.query(".figure-path")]
        assert paths == [str(run / name) for name in ("corruption_grid.png", "alpha_bar_curves.png")]


def slow_demo(monkeypatch) -> tuple[threading.Event, list[int]]:
    """noise-corruption replaced by a run of 500 reports, 20 ms apart (ten seconds unless stopped).

    Returns the event set at its first report and the steps it has reported.
    """
    from learnapp.demos import noise_corruption

    started, steps = threading.Event(), []

    def slow(config, out_dir, progress):
        for step in range(500):
            progress("work", step, 500)
            steps.append(step)
            started.set()
            time.sleep(0.02)  # the demo's work, not a wait of the test

    monkeypatch.setattr(noise_corruption, "run", slow)
    return started, steps


def only_record(tmp_path) -> dict:
    (run,) = (tmp_path / "runs" / "noise-corruption").iterdir()
    return json.loads((run / "metrics.json").read_text())


async def test_leaving_the_demo_screen_stops_its_run_and_marks_it_incomplete(deck, store, clock, tmp_path, monkeypatch):
    started, steps = slow_demo(monkeypatch)
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "d")
        await pilot.pause()
        await pilot.press("r")
        assert await asyncio.to_thread(started.wait, 120)  # the run is under way
        await pilot.press("escape")
        await app.workers.wait_for_complete()  # the run has stopped and its folder is marked
        await pilot.pause()
        assert app.is_running and type(app.screen).__name__ == "HomeScreen"
    record = only_record(tmp_path)
    assert record["status"] == "incomplete" and record["error"] == "interrupted"
    assert len(steps) < 500


async def test_quitting_the_app_stops_a_running_demo_and_marks_it_incomplete(deck, store, clock, tmp_path, monkeypatch):
    started, steps = slow_demo(monkeypatch)
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.press("down", "d")
        await pilot.pause()
        screen = app.screen
        await pilot.press("r")
        assert await asyncio.to_thread(started.wait, 120)
        await pilot.press("q")
    assert await asyncio.to_thread(screen.run_ended.wait, 120)
    record = only_record(tmp_path)
    assert record["status"] == "incomplete" and record["error"] == "interrupted"
    assert len(steps) < 500
