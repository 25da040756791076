"""The progress store: exact round trips, rebuild from the log, damaged files, migrations,
and the faults it must survive (kill -9, two writers)."""

from __future__ import annotations

import itertools
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest
from fsrs import Card, Rating, State
from srs_support import FakeClock, dump, small_deck, utc

from learnapp.errors import UserError
from learnapp.srs import Session
from learnapp.store import SCHEMA_VERSION, CardChanged, Review, Store, default_path


def play(store: Store, days: int = 5, seed: int = 0) -> int:
    """A few simulated days of sessions with mixed ratings; returns the answers given."""
    import random

    rng = random.Random(seed)
    clock = FakeClock(utc(2025, 2, 3, 8))
    deck = small_deck()
    answers = 0
    for _ in range(days):
        session = Session(deck, store, clock=clock, new_per_day=4)
        while session.current is not None:
            clock.advance(seconds=rng.randint(2, 30))
            session.answer(rng.choice(list(Rating)))
            answers += 1
        clock.advance(days=1)
    return answers


def test_default_path_follows_the_data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LEARNAPP_DATA_DIR", str(tmp_path / "env"))
    assert default_path() == tmp_path / "env" / "progress.sqlite3"
    assert default_path(tmp_path / "flag") == tmp_path / "flag" / "progress.sqlite3"


def test_new_file_is_wal_versioned_and_marked_as_ours(tmp_path):
    path = tmp_path / "deep" / "er" / "progress.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("PRAGMA application_id").fetchone()[0] == 0x4C524E41


def test_cards_and_reviews_round_trip_exactly(tmp_path):
    moment = utc(2025, 3, 1, 9, 15, 7, 123457)
    card = Card(
        card_id=0,
        state=State.Relearning,
        step=0,
        stability=0.1234567890123,
        difficulty=7.000000000001,
        due=moment + timedelta(minutes=10),
        last_review=moment,
    )
    review = Review("x-1", moment, Rating.Again, 4321, None, card)
    with Store(tmp_path / "p.sqlite3") as store:
        store.record(review)
    with Store(tmp_path / "p.sqlite3") as store:
        assert store.card("x-1") == card
        assert list(store.reviews()) == [review]
        assert store.card("never") is None


def test_record_refuses_a_stale_before_state(tmp_path):
    moment = utc(2025, 3, 1)
    after = Card(card_id=0, due=moment, last_review=moment, stability=1.0, difficulty=5.0)
    with Store(tmp_path / "p.sqlite3") as store:
        store.record(Review("x-1", moment, Rating.Good, None, None, after))
        with pytest.raises(CardChanged):
            store.record(Review("x-1", moment, Rating.Good, None, None, after))
        assert store.review_count() == 1


def test_cards_can_be_rebuilt_from_the_log(tmp_path):
    with Store(tmp_path / "p.sqlite3") as store:
        assert play(store) > 40
        cards, log = dump(store.path)
        assert len(cards) == 10
        store._db.execute("UPDATE cards SET stability = 99, reps = 0")  # damage the derived table
        store.rebuild_cards()
        assert dump(store.path) == (cards, log)


def test_counters_count_answers_and_lapses(tmp_path):
    with Store(tmp_path / "p.sqlite3") as store:
        play(store)
        log = list(store.reviews())
        for item_id in {r.item_id for r in log}:
            mine = [r for r in log if r.item_id == item_id]
            assert store.counters(item_id) == (len(mine), sum(r.is_lapse for r in mine))
        assert any(r.is_lapse for r in log)


# --- damaged, foreign and newer files -----------------------------------------------------------


def assert_refused(path, *phrases):
    before = path.read_bytes()
    with pytest.raises(UserError) as caught:
        Store(path)
    message = str(caught.value)
    assert str(path) in message and "\n" not in message
    for phrase in phrases:
        assert phrase in message
    assert path.read_bytes() == before  # kept as it was


def test_garbage_file_is_refused_and_kept(tmp_path):
    path = tmp_path / "progress.sqlite3"
    path.write_bytes(b"this is not a database, it is a shopping list\n" * 100)
    assert_refused(path, "damaged", "mv ", "--import")


def test_another_programs_database_is_refused_and_kept(tmp_path):
    path = tmp_path / "progress.sqlite3"
    db = sqlite3.connect(path)
    db.execute("CREATE TABLE recipes (name TEXT)")
    db.commit()
    db.close()
    assert_refused(path, "another program")


def test_database_from_a_newer_learnapp_is_refused_and_kept(tmp_path):
    path = tmp_path / "progress.sqlite3"
    Store(path).close()
    db = sqlite3.connect(path)
    db.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    db.commit()
    db.close()
    assert_refused(path, "newer learnapp", "upgrade")


def test_damaged_pages_give_a_clear_error_not_a_traceback(tmp_path):
    path = tmp_path / "progress.sqlite3"
    with Store(path) as store:
        play(store, days=20)
    db = sqlite3.connect(path)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.close()
    data = bytearray(path.read_bytes())
    assert len(data) > 4 * 4096
    data[4096:] = b"\xff" * (len(data) - 4096)  # every page after the first overwritten
    path.write_bytes(bytes(data))
    with pytest.raises(UserError, match="damaged"), Store(path) as store:
        list(store.reviews())
    assert path.read_bytes() == data


def test_a_writer_that_holds_the_lock_too_long_gives_a_busy_message(tmp_path):
    path = tmp_path / "progress.sqlite3"
    Store(path).close()
    blocker = sqlite3.connect(path, isolation_level=None)
    blocker.execute("BEGIN IMMEDIATE")
    try:
        with Store(path, busy_timeout=0.05) as store, pytest.raises(UserError, match="busy"):
            store.rebuild_cards()
    finally:
        blocker.execute("ROLLBACK")


# --- migrations ---------------------------------------------------------------------------------

# The schema as version 1 wrote it, frozen here so the test keeps meaning what it says.
V1_SCHEMA = """
PRAGMA application_id = 1280462401;
CREATE TABLE cards (item_id TEXT PRIMARY KEY, state INTEGER NOT NULL CHECK (state IN (1, 2, 3)),
    step INTEGER, stability REAL, difficulty REAL, due INTEGER NOT NULL, last_review INTEGER);
CREATE INDEX cards_due ON cards (due);
CREATE TABLE revlog (id INTEGER PRIMARY KEY, item_id TEXT NOT NULL, reviewed_at INTEGER NOT NULL,
    rating INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4), duration_ms INTEGER,
    before_state INTEGER, before_step INTEGER, before_stability REAL, before_difficulty REAL,
    before_due INTEGER, before_last_review INTEGER,
    after_state INTEGER NOT NULL, after_step INTEGER, after_stability REAL, after_difficulty REAL,
    after_due INTEGER NOT NULL, after_last_review INTEGER);
CREATE INDEX revlog_item ON revlog (item_id, reviewed_at);
PRAGMA user_version = 1;
"""


def test_version_1_file_is_backed_up_and_migrated(tmp_path):
    path = tmp_path / "progress.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    day = 86_400_000_000
    t0 = 1_740_000_000_000_000
    rows = [
        # a: new -> review -> lapse (Again in Review) -> relearning ; b: one answer
        ("a", t0, 3, 900, None, None, None, None, None, None, 2, None, 3.0, 5.0, t0 + 3 * day, t0),
        (
            "a",
            t0 + 3 * day,
            1,
            800,
            2,
            None,
            3.0,
            5.0,
            t0 + 3 * day,
            t0,
            3,
            0,
            1.0,
            6.0,
            t0 + 3 * day + 600_000_000,
            t0 + 3 * day,
        ),
        ("b", t0, 4, 700, None, None, None, None, None, None, 2, None, 8.0, 3.0, t0 + 8 * day, t0),
    ]
    db.executemany(
        f"INSERT INTO revlog (item_id, reviewed_at, rating, duration_ms, {', '.join(f'before_{c}' for c in ('state', 'step', 'stability', 'difficulty', 'due', 'last_review'))}, {', '.join(f'after_{c}' for c in ('state', 'step', 'stability', 'difficulty', 'due', 'last_review'))}) VALUES ({', '.join('?' * 16)})",
        rows,
    )
    db.execute("INSERT INTO cards VALUES ('a', 3, 0, 1.0, 6.0, ?, ?)", (t0 + 3 * day + 600_000_000, t0 + 3 * day))
    db.execute("INSERT INTO cards VALUES ('b', 2, NULL, 8.0, 3.0, ?, ?)", (t0 + 8 * day, t0))
    db.commit()
    db.close()
    v1_dump = dump(path)

    with Store(path) as store:
        assert store.counters("a") == (2, 1)
        assert store.counters("b") == (1, 0)
        assert store.card("a").state == State.Relearning
        assert store.review_count() == 3
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert db.execute("SELECT name FROM sqlite_master WHERE name = 'revlog_time'").fetchone()
    backup = tmp_path / "progress.sqlite3.v1.bak"
    assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone()[0] == 1
    assert dump(backup) == v1_dump
    cards, log = dump(path)
    assert [row[:-1] for row in log] == v1_dump[1]
    assert {row[-1] for row in log} == {"flashcard"}  # every answer before modes was a flashcard
    assert [row[:7] for row in cards] == v1_dump[0]


# Version 2 added the answer and lapse counters and two indexes (frozen like V1_SCHEMA).
V2_ADDITIONS = """
DROP INDEX cards_due;
CREATE INDEX cards_state_due ON cards (state, due, item_id);
ALTER TABLE cards ADD COLUMN reps INTEGER NOT NULL DEFAULT 0;
ALTER TABLE cards ADD COLUMN lapses INTEGER NOT NULL DEFAULT 0;
CREATE INDEX revlog_time ON revlog (reviewed_at);
PRAGMA user_version = 2;
"""


def test_version_2_file_is_backed_up_and_gains_the_exercise_log(tmp_path):
    path = tmp_path / "progress.sqlite3"
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA + V2_ADDITIONS)
    t0 = 1_740_000_000_000_000
    db.execute(
        "INSERT INTO revlog (item_id, reviewed_at, rating, duration_ms, after_state, after_due) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        ("a", t0, 3, 900, 2, t0 + 86_400_000_000),
    )
    db.execute("INSERT INTO cards (item_id, state, due, reps) VALUES ('a', 2, ?, 1)", (t0 + 86_400_000_000,))
    db.commit()
    db.close()
    v2_dump = dump(path)

    with Store(path) as store:
        assert store.review_count() == 1 and store.counters("a") == (1, 0)
        assert store.exercise_results() == {}
        store.record_check("add-noise", utc(2026, 3, 1, 9), False, 4200, "wrong result on case 1")
        store.record_check("add-noise", utc(2026, 3, 1, 10), True, 3900, "all 4 cases match")
        store.set_hints_shown("add-noise", 2)
    with Store(path) as store:
        assert store.exercise_results() == {"add-noise": (2, True, True)}
        assert store.exercise_checks("add-noise")[0] == (utc(2026, 3, 1, 9), False, 4200, "wrong result on case 1")
        assert store.hints_shown("add-noise") == 2 and store.hints_shown("cfg") == 0
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    backup = tmp_path / "progress.sqlite3.v2.bak"
    assert sqlite3.connect(backup).execute("PRAGMA user_version").fetchone()[0] == 2
    assert dump(backup) == v2_dump
    cards, log = dump(path)  # the same, but each older answer is now recorded as a flashcard
    assert cards == v2_dump[0] and [row[:-1] for row in log] == v2_dump[1]
    assert [row[-1] for row in log] == ["flashcard"]


# --- faults: kill -9, two writers -----------------------------------------------------------------

CHILD = textwrap.dedent(
    """
    import sys, time
    from datetime import timedelta
    from fsrs import Rating
    from learnapp.content import load_deck
    from learnapp.srs import Session
    from learnapp.store import Store

    path, go, tag, count = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
    store = Store(path)
    session = Session(load_deck(), store, new_per_day=1000)
    ratings = [Rating.Again, Rating.Good, Rating.Hard, Rating.Easy, Rating.Good]
    print("ready", flush=True)
    while go != "-" and not __import__("os").path.exists(go):
        time.sleep(0.005)
    for n in range(1, count + 1):
        session.answer(ratings[(n + tag) % 5], timedelta(milliseconds=tag))
        print(n, flush=True)
    """
)


def child(path, go, tag: int, count: int) -> subprocess.Popen:
    """A process that answers `count` cards once `go` exists; it prints "ready" once its
    session (and so its queue) is built, then the number of answers committed so far."""
    process = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(go), str(tag), str(count)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert process.stdout.readline() == "ready\n"
    return process


def test_kill_9_right_after_answering_keeps_every_committed_answer(tmp_path):
    path = tmp_path / "progress.sqlite3"
    process = child(path, "-", 1, 100_000)
    reported = 0
    for line in process.stdout:
        reported = int(line)
        if reported == 25:
            os.kill(process.pid, signal.SIGKILL)
            break
    process.wait()
    reported = max([reported] + [int(line) for line in process.stdout])
    assert process.returncode == -signal.SIGKILL
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    db.close()
    with Store(path) as store:
        # every answer reported (printed after its commit) is there; at most one more
        assert reported <= store.review_count() <= reported + 1
        cards, log = dump(path)
        store.rebuild_cards()
        assert dump(path) == (cards, log)


def test_two_processes_answering_at_once_lose_nothing(tmp_path):
    path = tmp_path / "progress.sqlite3"
    Store(path).close()
    go = tmp_path / "go"
    per_process = 60
    processes = [child(path, go, tag, per_process) for tag in (1, 2)]
    go.touch()
    for process in processes:
        out, _ = process.communicate(timeout=120)
        assert process.returncode == 0
        assert out.split()[-1] == str(per_process)
    with Store(path) as store:
        log = list(store.reviews())
        assert len(log) == 2 * per_process
        assert sorted(r.duration_ms for r in log) == [1] * per_process + [2] * per_process
        # Both built the same queue before either answered, so they answered the same cards (the
        # second one's answers were applied on top of the first's); each item's log
        # is still one chain: every answer starts from the state the previous one left.
        by_item: dict[str, list[Review]] = {}
        for review in log:
            by_item.setdefault(review.item_id, []).append(review)
        assert any({r.duration_ms for r in chain} == {1, 2} for chain in by_item.values())
        for item_id, chain in by_item.items():
            assert chain[0].before is None
            assert all(b.before == a.after for a, b in itertools.pairwise(chain))
            assert store.card(item_id) == chain[-1].after
            assert store.counters(item_id)[0] == len(chain)


def test_full_disk_refuses_the_answer_and_keeps_the_earlier_ones(tmp_path):
    clock = FakeClock(utc(2025, 6, 10, 12))
    with Store(tmp_path / "progress.sqlite3") as store:
        session = Session(small_deck({"t1": 300}), store, clock=clock, new_per_day=300)
        session.answer(Rating.Easy)
        pages = store._db.execute("PRAGMA page_count").fetchone()[0]
        store._db.execute(f"PRAGMA max_page_count = {pages}")  # the disk is now full
        answered = 1
        with pytest.raises(UserError, match=r"cannot write .*full"):
            while answered < 300:  # a new page is needed within a few dozen answers
                session.answer(Rating.Easy)
                answered += 1
        assert store.review_count() == answered  # every answer before the failing one is kept
        failed = session.current
        store._db.execute("PRAGMA max_page_count = 1000000")  # space freed: carry on
        assert session.answer(Rating.Easy) is not None
        assert [r.item_id for r in store.reviews()][-1] == failed.id
        assert store.review_count() == answered + 1
