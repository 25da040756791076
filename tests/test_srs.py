"""Scheduling: the learner's day, the queue, previews, undo, practice mode, multiple choice."""

from __future__ import annotations

import random
import time
from datetime import date, timedelta
from itertools import combinations
from zoneinfo import ZoneInfo

import pytest
from fsrs import Card, Rating, Scheduler, State
from srs_support import FakeClock, distractors, dump, small_deck, utc

from learnapp.errors import UserError
from learnapp.srs import (
    LearningDay,
    MultipleChoice,
    Session,
    build_queue,
    forgetting_curve,
    format_interval,
    is_mastered,
    preview,
)
from learnapp.store import Review, Store

BERLIN = LearningDay(ZoneInfo("Europe/Berlin"))
NEW_YORK = LearningDay(ZoneInfo("America/New_York"))


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "progress.sqlite3") as opened:
        yield opened


def review_card(store: Store, item_id: str, due, stability: float = 5.0) -> None:
    """Put a card in Review state, due at `due`, as if it had been answered once."""
    last = due - timedelta(days=3)
    card = Card(
        card_id=0, state=State.Review, step=None, stability=stability, difficulty=5.0, due=due, last_review=last
    )
    store.record(Review(item_id, last, Rating.Good, 1000, store.card(item_id), card))


# --- the learner's day ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "short", "long"),
    [(BERLIN, date(2025, 3, 29), date(2025, 10, 25)), (NEW_YORK, date(2025, 3, 8), date(2025, 11, 1))],
)
def test_learning_days_across_dst_changes_are_23_and_25_hours(day, short, long):
    one = timedelta(days=1)
    assert day.start(short + one) - day.start(short) == timedelta(hours=23)
    assert day.start(long + one) - day.start(long) == timedelta(hours=25)
    assert day.start(date(2025, 6, 1) + one) - day.start(date(2025, 6, 1)) == timedelta(hours=24)
    # every learning day starts at 4 am on the local wall clock
    for first in (short, short + one, long, long + one):
        assert day.start(first).astimezone(day.tz).hour == 4


def test_day_turns_at_the_rollover_hour_not_midnight():
    # 10 June 2025, Berlin is UTC+2
    assert BERLIN.day_of(utc(2025, 6, 9, 22, 30)) == date(2025, 6, 9)  # 00:30 local
    assert BERLIN.day_of(utc(2025, 6, 10, 1, 59)) == date(2025, 6, 9)  # 03:59 local
    assert BERLIN.day_of(utc(2025, 6, 10, 2, 0)) == date(2025, 6, 10)  # 04:00 local
    midnight = LearningDay(ZoneInfo("Europe/Berlin"), rollover_hour=0)
    assert midnight.day_of(utc(2025, 6, 9, 22, 30)) == date(2025, 6, 10)


def test_system_time_zone_is_used_by_default(monkeypatch):
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    try:
        local = LearningDay()
        assert local.start(date(2025, 3, 9)) - local.start(date(2025, 3, 8)) == timedelta(hours=23)
        assert local.start(date(2025, 3, 9)) == utc(2025, 3, 9, 8)  # 04:00 EDT
        assert local.day_of(utc(2025, 3, 9, 7, 59)) == date(2025, 3, 8)
    finally:
        monkeypatch.undo()
        time.tzset()


def test_rollover_hour_out_of_range_is_a_user_error():
    with pytest.raises(UserError, match="0-23"):
        LearningDay(rollover_hour=24)


def test_due_today_follows_the_local_day_across_spring_forward(store):
    deck = small_deck({"t1": 2})
    # Berlin springs forward on 30 March 2025: the learning day of the 29th ends at 02:00 UTC.
    review_card(store, "t1-001", utc(2025, 3, 30, 1, 30))  # 03:30 CEST: still the 29th's
    review_card(store, "t1-002", utc(2025, 3, 30, 2, 30))  # 04:30 CEST: the 30th's
    evening = utc(2025, 3, 29, 20)
    queue = build_queue(deck, store, evening, day=BERLIN, new_per_day=0)
    assert queue.due == ("t1-001",)
    morning = utc(2025, 3, 30, 2, 1)  # 04:01 CEST
    assert build_queue(deck, store, morning, day=BERLIN, new_per_day=0).due == ("t1-001", "t1-002")


def test_due_today_across_fall_back_and_rollover(store):
    deck = small_deck({"t1": 1})
    # New York falls back on 2 Nov 2025; the learning day of the 1st ends at 09:00 UTC (04:00 EST).
    review_card(store, "t1-001", utc(2025, 11, 2, 8, 30))  # 03:30 EST
    assert build_queue(deck, store, utc(2025, 11, 1, 12), day=NEW_YORK, new_per_day=0).due == ("t1-001",)
    review_card(store, "t1-001", utc(2025, 11, 2, 9, 30))  # 04:30 EST: the 2nd
    assert build_queue(deck, store, utc(2025, 11, 2, 8, 59), day=NEW_YORK, new_per_day=0).due == ()
    assert build_queue(deck, store, utc(2025, 11, 2, 9, 1), day=NEW_YORK, new_per_day=0).due == ("t1-001",)


def test_new_card_limit_resets_at_the_rollover(store):
    deck = small_deck({"t1": 6})
    clock = FakeClock(utc(2025, 6, 10, 0))  # 02:00 in Berlin: still the 9th
    session = Session(deck, store, clock=clock, day=BERLIN, new_per_day=2)
    assert session.remaining == 2
    for _ in range(2):
        session.answer(Rating.Easy)
    clock.now = utc(2025, 6, 10, 1, 30)  # 03:30: the same learning day, limit used up
    assert build_queue(deck, store, clock.now, day=BERLIN, new_per_day=2).new == ()
    clock.now = utc(2025, 6, 10, 2, 30)  # 04:30: a new day
    assert build_queue(deck, store, clock.now, day=BERLIN, new_per_day=2).new == ("t1-003", "t1-004")


# --- the queue ------------------------------------------------------------------------------


def test_queue_is_due_cards_most_overdue_first_then_new_in_course_order(store):
    deck = small_deck()
    now = utc(2025, 6, 10, 12)
    review_card(store, "t2-002", now - timedelta(hours=2))
    review_card(store, "t1-003", now - timedelta(days=3))
    review_card(store, "t1-005", now + timedelta(days=2))  # not due
    queue = build_queue(deck, store, now, day=BERLIN, new_per_day=3)
    assert queue.due == ("t1-003", "t2-002")
    assert queue.new == ("t1-001", "t1-002", "t1-004")
    assert len(queue) == 5


def test_topic_filter_and_unknown_topic(store):
    deck = small_deck()
    now = utc(2025, 6, 10, 12)
    review_card(store, "t1-001", now - timedelta(days=1))
    queue = build_queue(deck, store, now, day=BERLIN, topics=["t2"])
    assert queue.due == ()
    assert queue.new == ("t2-001", "t2-002", "t2-003", "t2-004")
    with pytest.raises(UserError, match="unknown topic nope"):
        build_queue(deck, store, now, topics=["nope"])


def test_items_gone_from_the_deck_are_not_queued_but_keep_their_history(store):
    now = utc(2025, 6, 10, 12)
    review_card(store, "old-001", now - timedelta(days=1))
    deck = small_deck({"t1": 1})
    assert build_queue(deck, store, now, day=BERLIN).due == ()
    Session(deck, store, clock=FakeClock(now), day=BERLIN).answer(Rating.Good)
    assert store.card("old-001") is not None
    assert {r.item_id for r in store.reviews()} == {"old-001", "t1-001"}


# --- previews and answers -------------------------------------------------------------------


def test_interval_labels():
    cases = {
        timedelta(seconds=30): "30s",
        timedelta(minutes=1): "1m",
        timedelta(minutes=5, seconds=30): "6m",
        timedelta(minutes=10): "10m",
        timedelta(hours=1, minutes=30): "1.5h",
        timedelta(hours=5): "5h",
        timedelta(days=1): "1d",
        timedelta(days=3): "3d",
        timedelta(days=45): "1.5mo",
        timedelta(days=60): "2mo",
        timedelta(days=438): "1.2y",
    }
    assert {td: format_interval(td) for td in cases} == cases


def test_new_card_previews_follow_fsrs_learning_steps(store):
    deck = small_deck({"t1": 1})
    session = Session(deck, store, clock=FakeClock(utc(2025, 6, 10, 12)), day=BERLIN)
    outcomes = session.previews()
    assert [outcomes[r].label for r in (Rating.Again, Rating.Hard, Rating.Good)] == ["1m", "6m", "10m"]
    assert outcomes[Rating.Easy].card.state == State.Review
    assert outcomes[Rating.Easy].interval >= timedelta(days=1)


def test_saved_results_equal_previews_with_fuzz(store):
    """Many answers over simulated weeks: every saved card is exactly the one previewed."""
    deck = small_deck({"t1": 12, "t2": 12})
    rng = random.Random(7)
    clock = FakeClock(utc(2025, 1, 6, 9))
    scheduler = Scheduler(enable_fuzzing=True)
    answered = fuzzed = 0
    for _ in range(40):
        session = Session(deck, store, clock=clock, day=BERLIN, new_per_day=24, scheduler=scheduler)
        while (item := session.current) is not None:
            shown = session.previews()
            rating = rng.choice([Rating.Again, Rating.Hard, Rating.Good, Rating.Good, Rating.Easy])
            before = store.card(item.id)
            if before is not None and shown[Rating.Good].interval > timedelta(days=7):
                again = preview(scheduler, before, clock.now)[Rating.Good]
                fuzzed += again.card.due != shown[Rating.Good].card.due
            clock.advance(seconds=8)
            saved = session.answer(rating)
            assert (saved.label, saved.interval) == (shown[rating].label, shown[rating].interval)
            assert saved == shown[rating].at(clock.now)  # state, stability, difficulty, interval
            assert store.card(item.id) == saved.card
            answered += 1
        clock.advance(days=2)
    log = list(store.reviews())
    assert len(log) == answered > 200
    assert all(r.after.last_review == r.reviewed_at for r in log)
    assert fuzzed > 10, "fuzz never changed an interval: the test would prove nothing"


def run_session(session: Session, clock: FakeClock, think: timedelta) -> list[str]:
    """Answer Again the first time a card is seen and Easy the second; return what was shown."""
    shown = []
    while (item := session.current) is not None:
        shown.append(item.id)
        clock.now += think
        session.answer(Rating.Again if shown.count(item.id) == 1 else Rating.Easy)
    return shown


def test_learning_cards_come_back_early_when_nothing_else_is_left(store):
    deck = small_deck({"t1": 2})
    clock = FakeClock(utc(2025, 6, 10, 12))
    session = Session(deck, store, clock=clock, day=BERLIN)
    assert run_session(session, clock, timedelta(seconds=10)) == ["t1-001", "t1-002", "t1-001", "t1-002"]
    assert all(store.card(i).state == State.Review for i in ("t1-001", "t1-002"))
    summary = session.summary()
    assert (summary.answered, summary.new_cards, summary.remaining) == (4, 2, 0)
    assert summary.ratings == {Rating.Again: 2, Rating.Easy: 2}
    assert summary.recalled == 2
    assert summary.time_spent == timedelta(seconds=40)


def test_a_due_learning_card_goes_before_the_rest_of_the_queue(store):
    deck = small_deck({"t1": 3})
    clock = FakeClock(utc(2025, 6, 10, 12))
    session = Session(deck, store, clock=clock, day=BERLIN)
    # Again: due 1 minute after the answer; each answer takes two, so an Again card is due
    # once the next card is answered, and comes back before the rest of the queue.
    assert run_session(session, clock, timedelta(minutes=2)) == [
        "t1-001",
        "t1-002",
        "t1-001",
        "t1-002",
        "t1-003",
        "t1-003",
    ]


def test_answering_after_the_end_is_a_user_error(store):
    session = Session(small_deck({"t1": 1}), store, clock=FakeClock(utc(2025, 6, 10)), day=BERLIN)
    session.answer(Rating.Easy)
    assert session.current is None
    with pytest.raises(UserError, match="session is over"):
        session.answer(Rating.Good)


def test_answer_elsewhere_between_showing_and_answering_is_applied_on_top(tmp_path):
    deck = small_deck({"t1": 1})
    clock = FakeClock(utc(2025, 6, 10, 12))
    with Store(tmp_path / "p.sqlite3") as first, Store(tmp_path / "p.sqlite3") as second:
        one = Session(deck, first, clock=clock, day=BERLIN)
        two = Session(deck, second, clock=clock, day=BERLIN)
        assert one.current.id == two.current.id == "t1-001"
        two.previews()
        one.answer(Rating.Good)
        clock.advance(minutes=1)
        two.answer(Rating.Good)
        log = list(first.reviews())
    assert [r.before for r in log] == [None, log[0].after]
    # The second Good took the card on from where the first left it: out of learning.
    assert (log[0].after.state, log[1].after.state) == (State.Learning, State.Review)


# --- undo -----------------------------------------------------------------------------------


def test_undo_restores_the_store_exactly(store):
    deck = small_deck({"t1": 3})
    clock = FakeClock(utc(2025, 6, 10, 12))
    # t1-001 in Review state and overdue, so Again is a lapse that changes the counters
    review_card(store, "t1-001", clock.now - timedelta(days=1))
    session = Session(deck, store, clock=clock, day=BERLIN)
    for rating in (Rating.Again, Rating.Good, Rating.Hard, Rating.Good, Rating.Again):
        item = session.current
        remaining = session.remaining
        before = dump(store.path)
        clock.advance(seconds=20)
        session.answer(rating)
        assert dump(store.path) != before
        clock.advance(seconds=5)
        assert session.undo() == item
        assert dump(store.path) == before
        assert session.current == item and session.remaining == remaining
        session.answer(rating)
    assert store.counters("t1-001") == (3, 1)  # set up, Again (a lapse), then back from relearning


def test_undo_twice_and_nothing_to_undo(store):
    session = Session(small_deck({"t1": 2}), store, clock=FakeClock(utc(2025, 6, 10)), day=BERLIN)
    empty = dump(store.path)
    assert session.undo() is None
    session.answer(Rating.Good)
    session.answer(Rating.Good)
    assert session.undo().id == "t1-002"
    assert session.undo().id == "t1-001"
    assert dump(store.path) == empty
    assert session.remaining == 2


def test_undo_refused_when_the_card_was_answered_elsewhere(tmp_path):
    deck = small_deck({"t1": 1})
    clock = FakeClock(utc(2025, 6, 10, 12))
    with Store(tmp_path / "p.sqlite3") as first, Store(tmp_path / "p.sqlite3") as second:
        one = Session(deck, first, clock=clock, day=BERLIN)
        one.answer(Rating.Again)
        clock.advance(minutes=5)
        Session(deck, second, clock=clock, day=BERLIN).answer(Rating.Good)
        with pytest.raises(UserError, match="answered again in another window"):
            one.undo()
        assert first.review_count() == 2


# --- practice (cram) ------------------------------------------------------------------------


def test_item_ids_limit_the_queue_and_the_session_to_those_cards(store):
    deck = small_deck()
    now = utc(2025, 6, 10, 12)
    review_card(store, "t1-003", now - timedelta(days=3))
    review_card(store, "t2-002", now - timedelta(days=1))
    review_card(store, "t2-003", now + timedelta(days=2))  # not due
    queue = build_queue(deck, store, now, day=BERLIN, new_per_day=2, item_ids={"t2-002", "t2-004", "t2-003"})
    assert (queue.due, queue.new) == (("t2-002",), ("t2-004",))  # the day's new cards are not spent on others
    assert not build_queue(deck, store, now, day=BERLIN, item_ids={"t2-003"})
    assert not build_queue(deck, store, now, day=BERLIN, topics=["t1"], item_ids={"t2-002"})
    clock = FakeClock(now)
    session = Session(deck, store, clock=clock, day=BERLIN, item_ids={"t1-003"})
    assert session.remaining == 1 and session.current is not None and session.current.id == "t1-003"
    practice = Session(deck, store, clock=clock, day=BERLIN, cram=True, item_ids={"t2-003", "t1-001"})
    assert practice.remaining == 2 and practice.current is not None and practice.current.id == "t1-001"


def test_skip_drops_the_current_card_unanswered(store):
    deck = small_deck()
    clock = FakeClock(utc(2025, 6, 10, 12))
    session = Session(deck, store, clock=clock, day=BERLIN, new_per_day=3)
    assert session.current is not None and session.current.id == "t1-001"
    session.skip()
    assert session.current is not None and session.current.id == "t1-002" and session.remaining == 2
    assert store.review_count() == 0 and session.summary().answered == 0


def test_cram_leaves_the_store_unchanged(store):
    deck = small_deck()
    clock = FakeClock(utc(2025, 6, 10, 12))
    Session(deck, store, clock=clock, day=BERLIN).answer(Rating.Good)
    review_card(store, "t2-001", clock.now + timedelta(days=20))
    before = dump(store.path)
    session = Session(deck, store, clock=clock, day=BERLIN, cram=True, topics=["t1", "t2"])
    assert session.remaining == 10  # everything, due or not, new or not
    seen = []
    while (item := session.current) is not None:
        outcomes = session.previews()
        assert outcomes[Rating.Again].label == "again" and outcomes[Rating.Good].card is None
        seen.append(item.id)
        session.answer(Rating.Again if seen.count(item.id) == 1 and len(seen) <= 2 else Rating.Good)
        if len(seen) == 3:
            session.undo()
    assert seen[:3] == ["t1-001", "t1-002", "t1-003"] and seen[3] == "t1-003"
    assert seen[-2:] == ["t1-001", "t1-002"]  # Again sent them to the end
    assert session.summary().practice
    assert dump(store.path) == before


# --- multiple choice, mastered ---------------------------------------------------------------


def test_multiple_choice_offers_the_answer_among_three_of_its_own_distractors():
    deck = small_deck({"t1": 6, "t2": 4})
    item = deck.by_id["t1-002"]
    choice = MultipleChoice.make(deck, item, random.Random(3))
    assert len(choice.options) == 4 and len(set(choice.options)) == 4
    assert choice.options[choice.answer] == item.answer
    # the other three come from the item's four distractors, never from other answers
    assert set(choice.options) - {item.answer} < set(distractors("t1-002"))
    wrong = (choice.answer + 1) % 4
    assert choice.grade(wrong, timedelta(seconds=2)) == Rating.Again
    assert choice.grade(choice.answer, timedelta(seconds=5)) == Rating.Good
    assert choice.grade(choice.answer, choice.slow_after + timedelta(seconds=1)) == Rating.Hard


def test_multiple_choice_is_seeded_and_varies_the_picks_and_the_answer_position():
    deck = small_deck({"t1": 1})
    item = deck.by_id["t1-001"]
    made = [MultipleChoice.make(deck, item, random.Random(seed)) for seed in range(40)]
    assert made[7] == MultipleChoice.make(deck, item, random.Random(7))
    assert {choice.answer for choice in made} == {0, 1, 2, 3}
    assert {frozenset(choice.options) for choice in made} == {
        frozenset({item.answer, *three}) for three in combinations(distractors("t1-001"), 3)
    }


def test_mastered_means_review_state_with_three_weeks_of_stability():
    due = utc(2025, 6, 10)
    assert is_mastered(Card(card_id=0, state=State.Review, stability=21.0, difficulty=5, due=due))
    assert not is_mastered(Card(card_id=0, state=State.Review, stability=20.9, difficulty=5, due=due))
    assert not is_mastered(Card(card_id=0, state=State.Relearning, step=0, stability=40, difficulty=5, due=due))
    assert not is_mastered(None)


@pytest.mark.parametrize("decay_weight", [None, 0.1, 0.6])
def test_forgetting_curve_is_fsrs_own_retrievability(decay_weight):
    """Guards forgetting_curve's re-derivation of fsrs's private constants: fails if fsrs changes them."""
    parameters = list(Scheduler().parameters)
    if decay_weight is not None:
        parameters[20] = decay_weight
    scheduler = Scheduler(parameters=parameters)
    factor, decay = forgetting_curve(scheduler)
    last = utc(2025, 6, 1, 9)
    for stability in (0.3, 2.0, 45.0):
        card = Card(card_id=0, state=State.Review, stability=stability, difficulty=5.0, due=last, last_review=last)
        for days in (0, 1, 3, 30, 400):
            theirs = scheduler.get_card_retrievability(card, last + timedelta(days=days))
            assert (1 + factor * days / stability) ** decay == pytest.approx(theirs, rel=1e-12)
