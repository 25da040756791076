"""The learner's memory model (issue 17): review modes and their migration, personal FSRS
parameters, true retention and the review heatmap, leeches and suspension, card search."""

from __future__ import annotations

import json
import sqlite3
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import pytest
from fsrs import Card, Rating, Scheduler, State
from fsrs.scheduler import DEFAULT_PARAMETERS
from memory_support import TRUE_PARAMETERS, simulate
from srs_support import FakeClock, small_deck, utc

from learnapp import optimize, stats
from learnapp.backup import export_log, import_log
from learnapp.browse import CardIndex, history
from learnapp.cli import main
from learnapp.content import Deck, Item, Topic
from learnapp.leeches import LEECH_LAPSES, is_leech, leeches, remedy
from learnapp.srs import LearningDay, Session, build_queue, scheduler_for
from learnapp.store import CHOICE, FLASHCARD, SCHEMA_VERSION, Review, Store, default_path

BERLIN = LearningDay(ZoneInfo("Europe/Berlin"))
START = utc(2025, 1, 6, 8)  # a Monday


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "progress.sqlite3") as opened:
        yield opened


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def review_card(stability: float, at) -> Card:
    return Card(card_id=0, state=State.Review, stability=stability, difficulty=5.0, due=at, last_review=at)


def answer(item_id: str, at, rating: Rating, before: State | None, mode: str = FLASHCARD) -> Review:
    """A log row with a `before` card in state `before` (None: a first review)."""
    before_card = (
        None
        if before is None
        else Card(
            card_id=0,
            state=before,
            step=None if before == State.Review else 0,
            stability=3.0,
            difficulty=5.0,
            due=at,
            last_review=at - timedelta(days=3),
        )
    )
    return Review(item_id, at, rating, 3000, before_card, review_card(4.0, at), mode)


# --- each review records its mode --------------------------------------------------------------


def test_a_session_logs_the_mode_it_was_started_with(store):
    clock = FakeClock(START)
    for mode in (FLASHCARD, CHOICE):
        session = Session(small_deck(), store, clock=clock, new_per_day=2, mode=mode)
        session.answer(Rating.Good)
        clock.advance(days=1)
    assert [review.mode for review in store.reviews()] == [FLASHCARD, CHOICE]
    with pytest.raises(ValueError, match="unknown review mode"):
        Session(small_deck(), store, mode="flashcards")


# The schema as version 2 wrote it (version 1 plus counters and indexes), frozen here.
V2_SCHEMA = """
PRAGMA application_id = 1280462401;
CREATE TABLE cards (item_id TEXT PRIMARY KEY, state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),
    step INTEGER, stability REAL, difficulty REAL, due INTEGER NOT NULL, last_review INTEGER,
    reps INTEGER NOT NULL DEFAULT 0, lapses INTEGER NOT NULL DEFAULT 0);
CREATE INDEX cards_state_due ON cards (state, due, item_id);
CREATE TABLE revlog (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, reviewed_at INTEGER NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4), duration_ms INTEGER,
    before_state INTEGER, before_step INTEGER, before_stability REAL, before_difficulty REAL,
    before_due INTEGER, before_last_review INTEGER,
    after_state INTEGER NOT NULL, after_step INTEGER, after_stability REAL, after_difficulty REAL,
    after_due INTEGER NOT NULL, after_last_review INTEGER);
CREATE INDEX revlog_item ON revlog (item_id, reviewed_at);
CREATE INDEX revlog_time ON revlog (reviewed_at);
PRAGMA user_version = 2;
"""


def test_version_2_file_keeps_every_review_as_a_flashcard(tmp_path):
    path = tmp_path / "progress.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(V2_SCHEMA)
    day, t0 = 86_400_000_000, 1_740_000_000_000_000
    rows = [
        (
            item,
            t0 + n * day,
            rating,
            1000 + n,
            None,
            None,
            None,
            None,
            None,
            None,
            2,
            None,
            3.0,
            5.0,
            t0 + (n + 3) * day,
            t0 + n * day,
        )
        for n, (item, rating) in enumerate([("a", 3), ("a", 1), ("b", 4), ("c", 2), ("a", 3)])
    ]
    db.executemany(f"INSERT INTO revlog VALUES (NULL, {', '.join('?' * 16)})", rows)
    db.execute("INSERT INTO cards VALUES ('a', 2, NULL, 3.0, 5.0, ?, ?, 3, 0)", (t0, t0))
    db.commit()
    old = db.execute("SELECT * FROM revlog ORDER BY id").fetchall()
    db.close()

    with Store(path) as store:
        reviews = list(store.reviews())
        assert len(reviews) == 5 and {r.mode for r in reviews} == {FLASHCARD}
        assert [(r.item_id, int(r.rating), r.duration_ms) for r in reviews] == [(r[0], r[2], r[3]) for r in rows]
        assert store.card("a").state == State.Review
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert [row[:-1] for row in db.execute("SELECT * FROM revlog ORDER BY id")] == old
    backup = sqlite3.connect(tmp_path / "progress.sqlite3.v2.bak")
    assert backup.execute("SELECT COUNT(*) FROM revlog").fetchone() == (5,)


def test_export_import_round_trips_the_mode_and_reads_version_1_exports(store, tmp_path):
    store.merge_reviews(
        [answer("t1-001", START, Rating.Good, None, CHOICE), answer("t1-002", START, Rating.Again, None, FLASHCARD)]
    )
    path = tmp_path / "log.jsonl"
    export_log(store, path)
    with Store(tmp_path / "other.sqlite3") as other:
        assert import_log(other, path) == (2, 0)
        assert [r.mode for r in other.reviews()] == [CHOICE, FLASHCARD]
    # an export written before answers had a mode
    lines = path.read_text().splitlines()
    old = [json.dumps({"format": "learnapp-review-log", "version": 1})]
    old += [json.dumps({k: v for k, v in json.loads(line).items() if k != "mode"}) for line in lines[1:]]
    path.write_text("\n".join(old) + "\n")
    with Store(tmp_path / "third.sqlite3") as third:
        assert import_log(third, path) == (2, 0)
        assert [r.mode for r in third.reviews()] == [FLASHCARD, FLASHCARD]


# --- personal parameters -------------------------------------------------------------------------


def simulated(store: Store, reviews: int = 2400, cards: int = 140, seed: int = 0) -> None:
    store.merge_reviews(simulate(cards, reviews, START, seed=seed))


def test_the_fit_beats_the_defaults_on_held_out_reviews_and_is_adopted(store):
    simulated(store, reviews=2400, cards=60)
    assert store.review_count() >= 2000
    # a small fitting budget keeps the test fast and leaves more cards held out
    fit = optimize.optimize(store, utc(2026, 1, 1), budget=600)
    assert fit.enough and fit.adopted
    assert fit.fitted.log_loss < fit.default.log_loss and fit.fitted.rmse_bins < fit.default.rmse_bins
    assert fit.fitted.reviews >= 1000  # held-out spaced reviews, on cards the fit never saw
    # towards the simulated learner, who forgets much faster than FSRS's defaults assume
    held_out = list(optimize.histories(store).values())
    mean = {
        name: sum(p for p, _ in pairs) / len(pairs)
        for name, pairs in (
            ("default", optimize.predictions(DEFAULT_PARAMETERS, held_out)),
            ("fitted", optimize.predictions(fit.parameters, held_out)),
        )
    }
    assert mean["fitted"] < mean["default"]
    assert scheduler_for(store).parameters == pytest.approx(fit.parameters)
    assert Session(small_deck(), store).fsrs.parameters == pytest.approx(fit.parameters)


def fitter_of(parameters):
    return lambda histories: list(parameters)


def test_fitted_parameters_are_kept_only_when_they_predict_better(store):
    simulated(store, reviews=1500, cards=60)
    worse = (*[100.0] * 4, *DEFAULT_PARAMETERS[4:])  # initial stabilities of 100 days: far too optimistic
    fit = optimize.optimize(store, utc(2026, 1, 1), fitter_of(worse))
    assert fit.enough and not fit.adopted and fit.fitted.log_loss > fit.default.log_loss
    assert store.memory_model() is None and len(store.memory_models()) == 1
    assert scheduler_for(store).parameters == Scheduler().parameters

    fit = optimize.optimize(store, utc(2026, 1, 2), fitter_of(TRUE_PARAMETERS))
    assert fit.adopted and store.memory_model().parameters == pytest.approx(TRUE_PARAMETERS)
    assert store.memory_model().figures["fitted"]["log_loss"] == fit.fitted.log_loss
    # a later fit that beats the defaults but not the one in use changes nothing
    between = tuple((t + d) / 2 for t, d in zip(TRUE_PARAMETERS, DEFAULT_PARAMETERS, strict=True))
    fit = optimize.optimize(store, utc(2026, 1, 3), fitter_of(between))
    assert fit.current is not None and not fit.adopted
    assert store.memory_model().parameters == pytest.approx(TRUE_PARAMETERS)


def test_reset_parameters_goes_back_to_the_defaults(store, capsys, tmp_path):
    simulated(store, reviews=1500, cards=60)
    optimize.optimize(store, utc(2026, 1, 1), fitter_of(TRUE_PARAMETERS))
    assert store.memory_model() is not None
    data = str(store.path.parent)
    code, out, _ = run(capsys, "--data-dir", data, "progress", "--json")
    assert json.loads(out)["memory_model"]["parameters"] == pytest.approx(TRUE_PARAMETERS)
    code, out, _ = run(capsys, "--data-dir", data, "progress", "--reset-parameters")
    assert code == 0 and "Back to FSRS's default parameters" in out
    assert store.memory_model() is None and scheduler_for(store).parameters == Scheduler().parameters
    assert len(store.memory_models()) == 1  # the fit stays on record
    assert "already in use" in run(capsys, "--data-dir", data, "progress", "--reset-parameters")[1]


def test_below_the_minimum_the_learner_is_told_how_far_they_are(store, capsys):
    simulated(store, reviews=400, cards=40)
    spaced = optimize.spaced_reviews(store)
    assert 0 < spaced < optimize.needed() == 640
    code, out, _ = run(capsys, "--data-dir", str(store.path.parent), "progress", "--optimize")
    assert code == 0 and f"{spaced} of 640 spaced reviews" in out
    assert store.memory_models() == []


def test_the_minimum_is_the_optimizers_own():
    from fsrs import optimizer  # imports torch: only this test and --optimize do

    assert optimizer.mini_batch_size == optimize.MIN_SPACED and optimizer.max_seq_len == optimize.MAX_HISTORY


def test_multiple_choice_answers_are_left_out_of_fitting(store):
    day = timedelta(days=1)
    store.merge_reviews(
        [
            answer("t1-001", START, Rating.Good, None),
            answer("t1-001", START + 2 * day, Rating.Good, State.Review, CHOICE),
            answer("t1-001", START + 5 * day, Rating.Again, State.Review),
            answer("t1-002", START, Rating.Good, None, CHOICE),
            answer("t1-002", START + 3 * day, Rating.Good, State.Review, CHOICE),
        ]
    )
    assert optimize.histories(store) == {"t1-001": [(START, Rating.Good), (START + 5 * day, Rating.Again)]}
    assert optimize.spaced_reviews(store) == 1


def test_optimize_reports_default_and_fitted_figures(store, capsys, monkeypatch):
    simulated(store, reviews=1500, cards=60)
    monkeypatch.setattr(optimize, "fit_parameters", fitter_of(TRUE_PARAMETERS))  # no torch: the mechanics only
    code, out, _ = run(capsys, "--data-dir", str(store.path.parent), "progress", "--optimize")
    assert code == 0
    assert "FSRS defaults" in out and "fitted now" in out and "log loss" in out and "RMSE (bins)" in out
    assert "Kept: the fitted parameters" in out and "multiple choice is left out" in out


# --- true retention, heatmap, predicted recall ------------------------------------------------


def test_true_retention_counts_due_flashcard_reviews_only(store):
    day = timedelta(days=1)
    store.merge_reviews(
        [
            # week of 6 January: three due reviews recalled, one forgotten
            answer("a", START, Rating.Good, State.Review),
            answer("b", START + day, Rating.Hard, State.Review),
            answer("c", START + 2 * day, Rating.Easy, State.Review),
            answer("d", START + 3 * day, Rating.Again, State.Review),
            # not due reviews of Review cards, or not recall: left out
            answer("e", START, Rating.Again, State.Learning),
            answer("f", START, Rating.Again, State.Relearning),
            answer("g", START, Rating.Good, None),
            answer("h", START + day, Rating.Again, State.Review, CHOICE),
            # week of 13 January: one recalled
            answer("a", START + 8 * day, Rating.Good, State.Review),
        ]
    )
    now = START + 9 * day
    weeks = stats.retention(store, now, BERLIN, "week", 3)
    assert [w.start for w in weeks] == [date(2024, 12, 30), date(2025, 1, 6), date(2025, 1, 13)]
    assert [(w.recalled, w.reviews) for w in weeks] == [(0, 0), (3, 4), (1, 1)]
    assert weeks[0].rate is None and weeks[1].rate == 0.75 and weeks[2].rate == 1.0
    months = stats.retention(store, now, BERLIN, "month", 2)
    assert [(m.start, m.days, m.recalled, m.reviews) for m in months] == [
        (date(2024, 12, 1), 31, 0, 0),
        (date(2025, 1, 1), 31, 4, 5),
    ]
    figures = stats.progress(small_deck(), store, now, BERLIN).to_dict()["true_retention"]
    assert figures["desired"] == 0.9 and figures["weeks"][-2]["rate"] == 0.75
    assert "recognising" in figures["definition"]


def test_heatmap_rows_show_each_day_by_weekday():
    first = date(2025, 1, 6)  # Monday
    calendar = [(first + timedelta(days=n), 0) for n in range(17)]  # two weeks and three days
    calendar[0] = (first, 8)  # the busiest day
    calendar[9] = (calendar[9][0], 1)  # Wednesday of the second week
    rows = stats.heatmap_rows(calendar)
    assert len(rows) == 9 and rows[0].strip().startswith("Jan")
    monday, wednesday, sunday = rows[1], rows[3], rows[7]
    assert monday == "Mon ██····" and wednesday == "Wed ··░░··"
    assert sunday == "Sun ····"  # the third week's Sunday is still to come
    assert "up to 8 answers a day" in rows[-1]


def test_progress_explains_predicted_recall_and_lists_leeches(store, capsys):
    deck = small_deck()
    day = timedelta(days=1)
    log = [answer("t1-002", START + n * day, Rating.Again, State.Review) for n in range(LEECH_LAPSES)]
    store.merge_reviews(log)
    figures = stats.progress(deck, store, START + 10 * day, BERLIN)
    assert [leech.item_id for leech in figures.leeches] == ["t1-002"]
    assert "forecast, not a score" in figures.to_dict()["recall_definition"]
    code, out, _ = run(capsys, "--data-dir", str(store.path.parent), "progress")
    assert code == 0 and "forecast, not a score" in out and "True retention" in out
    assert "Answers per day" in out and "Mon " in out
    assert "Leeches" in out


def test_plot_draws_the_heatmap_with_data(store, tmp_path):
    simulated(store, reviews=600, cards=30)
    path = stats.plot(small_deck(), store, tmp_path / "p.png", START + timedelta(days=60), BERLIN)
    assert path.read_bytes()[:4] == b"\x89PNG"


# --- leeches and suspension ---------------------------------------------------------------------


def test_a_card_becomes_a_leech_at_the_threshold(store):
    deck = small_deck()
    day = timedelta(days=1)
    store.merge_reviews(
        [answer("t1-001", START + n * day, Rating.Again, State.Review) for n in range(LEECH_LAPSES - 1)]
    )
    store.merge_reviews([answer("t1-001", START + 20 * day, Rating.Again, State.Learning)])  # not a lapse
    assert not is_leech(store, "t1-001") and leeches(deck, store) == []
    store.merge_reviews([answer("t1-001", START + 30 * day, Rating.Again, State.Review)])
    assert is_leech(store, "t1-001")
    assert [(leech.item_id, leech.lapses) for leech in leeches(deck, store)] == [("t1-001", LEECH_LAPSES)]
    offer = remedy(deck, "t1-001")
    assert offer.demo == "noise-corruption" and "learnapp demo noise-corruption" in offer.message


def test_a_leech_with_a_figure_offers_it():
    item = Item(
        id="x-1",
        source=1,
        topic="x",
        question="Q?",
        answer="A.",
        distractors=("a", "b", "c"),
        figure="noise-corruption/corruption_grid.png",
    )
    deck = Deck((Topic(id="x", title="X", demo="noise-corruption", items=(item,)),))
    assert remedy(deck, "x-1").figure == "noise-corruption/corruption_grid.png"


def test_suspended_cards_never_enter_the_queue(store):
    deck = small_deck()
    clock = FakeClock(START)
    session = Session(deck, store, clock=clock, new_per_day=3)
    for _ in range(3):
        session.answer(Rating.Easy)
    now = START + timedelta(days=60)  # all three due again
    assert sorted(build_queue(deck, store, now, new_per_day=2).due) == ["t1-001", "t1-002", "t1-003"]
    store.set_flags("t1-002", now, suspended=True)
    store.set_flags("t1-004", now, suspended=True)  # never reviewed: stays out of the new cards too
    store.set_flags("t1-003", now, flagged=True)  # a flag alone changes nothing
    queue = build_queue(deck, store, now, new_per_day=2)
    assert sorted(queue.due) == ["t1-001", "t1-003"] and queue.new == ("t1-005", "t1-006")
    assert stats.topic_progress(deck, store, now)[0].due_today == 2
    store.set_flags("t1-002", now, suspended=False)
    assert sorted(build_queue(deck, store, now, new_per_day=2).due) == ["t1-001", "t1-002", "t1-003"]
    assert store.flags() == {"t1-003": (True, False), "t1-004": (False, True)}


# --- the card browser's search ------------------------------------------------------------------


def browser_deck() -> Deck:
    def item(n: int, topic: str, question: str, answer: str, tags: tuple[str, ...] = ()) -> Item:
        return Item(
            id=f"dm-{n:03d}",
            source=n,
            topic=topic,
            question=question,
            answer=answer,
            distractors=("x", "y", "z"),
            tags=tags,
        )

    basics = (
        item(1, "basics", "What are diffusion models?", "Generative models that refine noise."),
        item(
            2, "basics", "What does the noise scheduler do?", "It sets how much noise each step adds.", ("scheduler",)
        ),
        item(3, "basics", "Why normalise images?", "So pixel values sit in (-1, 1).", ("preprocessing",)),
    )
    guidance = (
        item(
            4,
            "guidance",
            "What is classifier-free guidance?",
            "Mixing conditional and unconditional noise predictions.",
            ("cfg",),
        ),
        item(5, "guidance", "What does the guidance scale change?", "How strongly the prompt steers sampling."),
    )
    return Deck(
        (
            Topic(id="basics", title="Basics", demo="noise-corruption", items=basics),
            Topic(id="guidance", title="Guidance", demo="guidance", items=guidance),
        )
    )


def ids(found) -> list[str]:
    return [card.item.id for card in found]


def test_search_finds_cards_by_word_typo_tag_and_id(store):
    index = CardIndex(browser_deck(), store)
    assert ids(index.search("normalise")) == ["dm-003"]
    assert ids(index.search("noise"))[:2] == ["dm-001", "dm-002"] and "dm-004" in ids(index.search("noise"))
    assert ids(index.search("guidence"))[:2] == ["dm-004", "dm-005"]  # a typo
    assert ids(index.search("preprocessing")) == ["dm-003"]  # a tag
    assert ids(index.search("cfg")) == ["dm-004"]
    assert ids(index.search("dm-005")) == ["dm-005"]
    # every word present ranks above a better match of one word only
    assert ids(index.search("guidance scale"))[0] == "dm-005"
    assert ids(index.search("sched"))[0] == "dm-002"  # a prefix
    assert len(index.search("zebra")) == 0


def test_search_filters_by_topic_state_flag_leech_and_suspension(store):
    deck = browser_deck()
    clock = FakeClock(START)
    session = Session(deck, store, clock=clock, new_per_day=2)
    session.answer(Rating.Easy)  # dm-001 -> review
    session.answer(Rating.Again)  # dm-002 -> learning
    store.set_flags("dm-004", START, flagged=True)
    store.set_flags("dm-005", START, suspended=True)
    store.merge_reviews(
        [answer("dm-003", START + timedelta(days=n), Rating.Again, State.Review) for n in range(1, LEECH_LAPSES + 1)]
    )
    index = CardIndex(deck, store)
    assert ids(index.search(topic="guidance")) == ["dm-004", "dm-005"]
    assert ids(index.search(state="review")) == ["dm-001", "dm-003"]
    assert ids(index.search(state="learning")) == ["dm-002"]
    assert ids(index.search(state="new")) == ["dm-004", "dm-005"]
    assert ids(index.search(flagged=True)) == ["dm-004"]
    assert ids(index.search(suspended=True)) == ["dm-005"]
    assert ids(index.search(leech=True)) == ["dm-003"]
    assert ids(index.search("noise", topic="basics", state="review")) == ["dm-001"]
    store.set_flags("dm-004", START, flagged=False)
    index.refresh()
    assert len(index.search(flagged=True)) == 0


def test_cards_command_lists_shows_history_flags_and_refuses_unknown_ids(capsys, monkeypatch):
    deck_items = {item.id: item for item in __import__("learnapp.content").content.load_deck().items}
    code, out, _ = run(capsys, "cards", "classifier", "free", "guidance")
    assert code == 0 and out.splitlines() and all(line.split()[0] in deck_items for line in out.splitlines())
    assert "guidance" in deck_items[out.split()[0]].question.lower()
    code, out, err = run(capsys, "cards", "nope-999", "--history")
    assert code == 2 and out == "" and err.startswith("learnapp: error: unknown card id") and err.count("\n") == 1
    assert run(capsys, "cards", "dm-001", "--flag")[0] == 0
    assert run(capsys, "cards", "dm-002", "--suspend")[0] == 0
    assert run(capsys, "cards", "--flagged")[1].split()[0] == "dm-001"
    assert run(capsys, "cards", "--suspended")[1].split()[0] == "dm-002"
    with Store(default_path()) as store:
        clock = FakeClock(START)
        session = Session(__import__("learnapp.content").content.load_deck(), store, clock=clock, mode=CHOICE)
        first = session.current.id
        session.answer(Rating.Good)
        assert history(store, first)[0].mode == CHOICE
    code, out, _ = run(capsys, "cards", first, "--history")
    lines = out.splitlines()
    assert code == 0 and "1 answer(s)" in lines[0] and lines[-1].split()[2:5] == ["choice", "Good", "10m"]
    assert run(capsys, "cards", "dm-001", "--unflag")[0] == 0
    assert run(capsys, "cards", "--flagged")[1] == "no card matches\n"
    code, _, err = run(capsys, "cards", "noise", "--topic", "nope")
    assert code == 2 and err.startswith("learnapp: error: unknown topic nope") and err.count("\n") == 1
    code, _, err = run(capsys, "cards", "dm-001", "dm-002", "--suspend")
    assert code == 2 and "take one card id" in err
