"""Cards on the review screens: formulas, leeches; the card browser; the progress screen's figures."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from fsrs import Card, Rating, State
from srs_support import FakeClock, utc
from textual.widgets import Static

from learnapp.content import load_deck
from learnapp.leeches import LEECH_LAPSES
from learnapp.review_options import ReviewOptions
from learnapp.store import Review, Store
from learnapp.tui.app import LearnApp
from learnapp.tui.images import halfblock_image_widget

SIZE = (100, 30)
FORMULA_CARD = "dm-141"  # an added card: its answer is $\sqrt{\bar{\alpha}_t}\,x_0 + ...$


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


def make_app(deck, store, clock, tmp_path, start=None, image_widget=None) -> LearnApp:
    return LearnApp(
        deck,
        store,
        runs_dir=tmp_path / "runs",
        start=start,
        clock=clock,
        rng=random.Random(7),
        image_widget=image_widget or halfblock_image_widget(),
        formula_cache=tmp_path / "formulas",
    )


def text(app: LearnApp, selector: str) -> str:
    return app.screen.query_one(selector, Static).render().plain


def make_leech(store: Store, item_id: str, due) -> None:
    """LEECH_LAPSES Agains on the card in Review state, the last leaving it due at `due`."""
    reviews = []
    for n in range(LEECH_LAPSES):
        at = due - timedelta(days=10 * (LEECH_LAPSES - n))
        before = Card(
            card_id=0,
            state=State.Review,
            step=None,
            stability=3.0,
            difficulty=5.0,
            due=at,
            last_review=at - timedelta(days=3),
        )
        after = Card(
            card_id=0,
            state=State.Review,
            step=None,
            stability=3.0,
            difficulty=5.0,
            due=due if n == LEECH_LAPSES - 1 else at + timedelta(days=3),
            last_review=at,
        )
        reviews.append(Review(item_id, at, Rating.Again, 3000, before, after))
    store.merge_reviews(reviews)


# --- formulas -------------------------------------------------------------------------------------


async def test_a_formula_card_reads_as_unicode_not_latex(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(item_ids=(FORMULA_CARD,), cram=True))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        answer = text(app, "#answer")
        assert "√ᾱ" in answer and "ε" in answer and "x₀" in answer
        assert "\\" not in answer and "$" not in answer
        # half blocks would make a formula unreadable: no pictures drawn, none rendered
        await app.workers.wait_for_complete()
        assert not app.screen.query(".formula") and not (tmp_path / "formulas").exists()


async def test_multiple_choice_options_show_formulas_as_unicode(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(item_ids=(FORMULA_CARD,), cram=True, mode="choice"))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        from textual.widgets import OptionList

        options = app.screen.query_one(OptionList)
        shown = [str(options.get_option_at_index(n).prompt) for n in range(options.option_count)]
        assert any("√ᾱ" in option for option in shown)
        assert not any("\\bar" in option for option in shown)


async def test_a_graphics_terminal_gets_the_formulas_as_pictures_after_the_card(deck, store, clock, tmp_path):
    from textual_image.widget import SixelImage

    app = make_app(
        deck, store, clock, tmp_path, ReviewOptions(item_ids=(FORMULA_CARD,), cram=True), image_widget=SixelImage
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        pictures = app.screen.query("#answer-formulas .formula")
        assert len(pictures) == 2  # the formula and ᾱ_t on its own, each drawn once
        assert "√ᾱ" in text(app, "#answer")  # the Unicode text stays
        assert len(list((tmp_path / "formulas").glob("*.png"))) == 2


async def test_a_formula_cache_that_cannot_be_written_leaves_the_unicode_text(deck, store, clock, tmp_path):
    from textual_image.widget import SixelImage

    (tmp_path / "formulas").write_text("a file where the cache folder should be")
    app = make_app(
        deck, store, clock, tmp_path, ReviewOptions(item_ids=(FORMULA_CARD,), cram=True), image_widget=SixelImage
    )
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("space")
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert not app.screen.query(".formula") and "√ᾱ" in text(app, "#answer")
        assert app.is_running


# --- leeches on the review screen -----------------------------------------------------------------


async def test_a_leech_is_named_with_its_remedy_and_can_be_suspended(deck, store, clock, tmp_path):
    leech = deck.topic("diffusion-basics").items[0]
    make_leech(store, leech.id, clock() - timedelta(days=1))
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(topics=("diffusion-basics",), new_per_day=2))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert text(app, "#question").startswith(leech.question[:30])
        note = text(app, "#leech")
        assert "leech" in note and f"learnapp demo {deck.topic('diffusion-basics').demo}" in note
        await pilot.press("d")
        await pilot.pause()
        assert type(app.screen).__name__ == "DemoScreen"
        await pilot.press("escape")
        await pilot.pause()
        await pilot.press("s")
        await pilot.pause()
        assert not text(app, "#question").startswith(leech.question[:30])
        assert not app.screen.query_one("#leech").display
        # s does nothing on a card that is not a leech
        await pilot.press("s")
        await pilot.pause()
    assert store.flags() == {leech.id: (False, True)}
    assert store.review_count() == LEECH_LAPSES  # suspending is not an answer


async def test_a_card_that_is_not_a_leech_shows_no_leech_note(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path, ReviewOptions(topics=("diffusion-basics",), new_per_day=1))
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert not app.screen.query_one("#leech").display
        await pilot.press("s")
        await pilot.pause()
    assert store.flags() == {}


# --- the progress screen ----------------------------------------------------------------------------


async def test_progress_shows_true_retention_the_calendar_leeches_and_what_recall_means(deck, store, clock, tmp_path):
    from learnapp import stats

    leech = deck.topic("diffusion-basics").items[1]
    make_leech(store, leech.id, clock() + timedelta(days=3))
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert type(app.screen).__name__ == "ProgressScreen"
        retention = text(app, "#retention")
        calendar = text(app, "#calendar")
        leeches = text(app, "#leeches")
        assert "forecast, not a score" in text(app, "#recall-help")  # the table's "recall" column
        assert "true retention: the share of due reviews" in text(app, "#retention-help")
    figures = stats.progress(deck, store, now=clock())
    assert retention.splitlines() == stats.retention_rows(figures)
    assert "(desired: 90%)" in retention and "0% /2" in retention  # two lapses in January
    assert calendar.splitlines()[1:] == stats.heatmap_rows(stats.review_calendar(store, now=clock()))
    assert f"{leech.id}  {LEECH_LAPSES} lapses" in leeches


async def test_progress_with_no_leeches_says_so(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        await pilot.press("p")
        await pilot.pause()
        assert text(app, "#leeches").startswith("Leeches: none")


# --- the card browser -------------------------------------------------------------------------------


def card_ids(app: LearnApp) -> list[str]:
    from textual.widgets import DataTable

    table = app.screen.query_one("#cards", DataTable)
    return [table.get_row_at(n)[0] for n in range(table.row_count)]


async def open_browser(pilot, query: str = "") -> None:
    await pilot.press("b")
    await pilot.pause()
    assert type(pilot.app.screen).__name__ == "BrowserScreen"
    if query:
        await pilot.press(*query)
        await pilot.pause()


async def test_the_browser_finds_a_card_by_a_word_and_despite_a_typo(deck, store, clock, tmp_path):
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot, "cumprod")
        found = card_ids(app)
        assert FORMULA_CARD in found and len(found) < len(deck.items)
        await pilot.press(*["backspace"] * len("cumprod"), *"cumpord")  # a typo: no card has this word
        await pilot.pause()
        assert card_ids(app) == found


async def test_the_browser_filters_by_topic_and_shows_a_cards_history(deck, store, clock, tmp_path):
    from textual.widgets import DataTable, Select

    leech = deck.topic("diffusion-basics").items[0]
    make_leech(store, leech.id, clock() + timedelta(days=2))
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot)
        assert len(card_ids(app)) == len(deck.items)
        app.screen.query_one("#topic-filter", Select).value = "diffusion-basics"
        await pilot.pause()
        assert card_ids(app) == [item.id for item in deck.topic("diffusion-basics").items]
        app.screen.query_one("#only-leech").value = True
        await pilot.pause()
        assert card_ids(app) == [leech.id]
        app.screen.query_one("#cards").focus()
        await pilot.press("enter")
        await pilot.pause()
        assert f"{LEECH_LAPSES} answer(s), {LEECH_LAPSES} lapse(s)" in text(app, "#card-detail")
        history = app.screen.query_one("#history", DataTable)
        assert [history.get_row_at(n)[2] for n in range(history.row_count)] == ["Again"] * LEECH_LAPSES


async def test_suspending_in_the_browser_takes_the_card_out_of_the_review_queue(deck, store, clock, tmp_path):
    from learnapp.srs import build_queue

    first = deck.topic("diffusion-basics").items[0]
    assert first.id in build_queue(deck, store, clock(), topics=("diffusion-basics",)).new
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot, first.id)
        await pilot.press("enter")  # from the query to the cards
        await pilot.pause()
        assert card_ids(app)[0] == first.id
        await pilot.press("s", "f")
        await pilot.pause()
        assert store.flags() == {first.id: (True, True)}
        assert app.screen.query_one("#cards").get_row_at(0)[4] == "FS"
        await pilot.press("escape", "escape")  # back to the topics, then start a review of the topic
        await pilot.pause()
        await pilot.press("enter")
        await pilot.pause()
        assert not text(app, "#question").startswith(first.question[:30])
    assert first.id not in build_queue(deck, store, clock(), topics=("diffusion-basics",)).new


async def test_review_now_from_the_browser_shows_only_that_card(deck, store, clock, tmp_path):
    card = deck.topic("audio").items[3]  # new, and past the day's new cards of a plain review
    app = make_app(deck, store, clock, tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        await open_browser(pilot, card.id)
        await pilot.press("enter", "r")
        await pilot.pause()
        assert text(app, "#question").startswith(card.question[:30])
        assert " 1 left " in text(app, "#status")
        await pilot.press("space", "4")  # Easy: out of the learning steps, the session is over
        await pilot.pause()
        assert text(app, "#status") == "Session complete"
    assert [review.item_id for review in store.reviews()] == [card.id]
