"""Progress figures (stats.py) and the `learnapp progress` command, backups included."""

from __future__ import annotations

import json
import random
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from fsrs import Card, Rating, Scheduler, State
from srs_support import FakeClock, dump, small_deck, utc

from learnapp import stats
from learnapp.cli import main
from learnapp.content import load_deck
from learnapp.srs import LearningDay, Session
from learnapp.store import Review, Store, default_path

BERLIN = LearningDay(ZoneInfo("Europe/Berlin"))
NOW = utc(2025, 6, 10, 12)  # 14:00 in Berlin, learning day 10 June


def put(store: Store, item_id: str, card: Card, at=None) -> None:
    at = at or card.last_review
    store.record(Review(item_id, at, Rating.Good, 1000, store.card(item_id), card))


def card(state: State, stability: float, due, last, step=None) -> Card:
    return Card(card_id=0, state=state, step=step, stability=stability, difficulty=5.0, due=due, last_review=last)


@pytest.fixture
def store(tmp_path):
    with Store(tmp_path / "progress.sqlite3") as opened:
        yield opened


@pytest.fixture
def cards(store):
    """A known mix of states; returns the Card put for each item."""
    week_ago = NOW - timedelta(days=7)
    made = {
        "t1-001": card(State.Review, 30.0, NOW + timedelta(days=20), week_ago),  # mastered
        "t1-002": card(State.Review, 5.0, NOW - timedelta(days=1), week_ago),  # overdue
        "t1-003": card(State.Learning, 0.5, NOW + timedelta(minutes=5), NOW - timedelta(minutes=5), step=1),
        "t2-001": card(State.Relearning, 2.0, NOW + timedelta(days=2), NOW - timedelta(days=3), step=0),
        "old-001": card(State.Review, 40.0, NOW - timedelta(days=2), NOW - timedelta(days=50)),
    }
    for item_id, value in made.items():
        put(store, item_id, value)
    return made


def test_topic_counts(store, cards):
    rows = {t.topic_id: t for t in stats.topic_progress(small_deck(), store, NOW, BERLIN)}
    assert list(rows) == ["t1", "t2", None]
    t1, t2, gone = rows["t1"], rows["t2"], rows[None]
    assert (t1.items, t1.new, t1.learning, t1.review, t1.due_today, t1.mastered) == (6, 3, 1, 2, 2, 1)
    assert (t2.items, t2.new, t2.learning, t2.review, t2.due_today, t2.mastered) == (4, 3, 1, 0, 0, 0)
    assert (gone.items, gone.new, gone.review, gone.mastered) == (1, 0, 1, 1)
    assert gone.title.startswith("not in the deck")
    # last seven learning days: t1-001 and t1-002 were answered exactly a week ago, which is out
    assert (t1.reviews_7d, t2.reviews_7d, gone.reviews_7d) == (1, 1, 0)


def test_average_retrievability_is_fsrs_own(store, cards):
    scheduler = Scheduler()
    rows = {t.topic_id: t for t in stats.topic_progress(small_deck(), store, NOW, BERLIN, scheduler)}
    for topic_id, items in (("t1", ["t1-001", "t1-002", "t1-003"]), ("t2", ["t2-001"]), (None, ["old-001"])):
        expected = sum(scheduler.get_card_retrievability(cards[i], NOW) for i in items) / len(items)
        assert rows[topic_id].retrievability == pytest.approx(expected, rel=1e-12)
    assert 0 < rows[None].retrievability < rows["t1"].retrievability < 1
    empty = stats.topic_progress(small_deck({"t3": 2}), store, NOW, BERLIN)[0]
    assert (empty.new, empty.retrievability) == (2, None)


def test_totals_cover_the_deck_only(store, cards):
    figures = stats.progress(small_deck(), store, NOW, BERLIN)
    total = figures.total
    assert (total.items, total.new, total.learning, total.review, total.mastered) == (10, 6, 2, 2, 1)
    data = figures.to_dict()
    assert data["total"]["mastered"] == 1 and data["not_in_deck"]["review"] == 1
    assert [t["topic_id"] for t in data["topics"]] == ["t1", "t2"]
    json.dumps(data)  # serialisable as it is


def answered_on(store: Store, item_id: str, moment) -> None:
    put(store, item_id, card(State.Review, 3.0, moment + timedelta(days=3), moment))


def test_streak_counts_learning_days_and_forgives_an_open_today(store):
    day = BERLIN
    # 02:30 Berlin on 10 June still belongs to the 9th
    for moment in (utc(2025, 6, 10, 0, 30), utc(2025, 6, 8, 9), utc(2025, 6, 7, 9), utc(2025, 6, 5, 9)):
        answered_on(store, "t1-001", moment)
    assert stats.streak(store, NOW, day) == 3  # 9, 8, 7; today not yet, 6 missing
    answered_on(store, "t1-001", NOW - timedelta(hours=1))
    assert stats.streak(store, NOW, day) == 4
    assert stats.streak(store, NOW + timedelta(days=2), day) == 0


def test_long_streak_spans_several_batches(store):
    first = utc(2025, 6, 10, 10)
    for n in range(75):
        answered_on(store, "t1-001", first - timedelta(days=n))
    assert stats.streak(store, NOW, BERLIN) == 75


def test_daily_ratings_and_due_forecast(store, cards):
    history = stats.daily_ratings(store, NOW, BERLIN, days=10)
    assert len(history) == 10 and history[-1][0] == BERLIN.day_of(NOW)
    assert sum(sum(c.values()) for _, c in history) == 4  # the 50-day-old review is out
    assert history[-1][1] == {Rating.Good: 1}  # t1-003, five minutes ago
    forecast = dict(stats.due_forecast(small_deck(), store, NOW, BERLIN, days=30))
    today = BERLIN.day_of(NOW)
    assert forecast[today] == 2  # overdue t1-002 and learning t1-003; old-001 is not in the deck
    assert forecast[today + timedelta(days=2)] == 1 and forecast[today + timedelta(days=20)] == 1
    assert sum(forecast.values()) == 4


def test_plot_writes_a_png(store, cards, tmp_path):
    path = stats.plot(small_deck(), store, tmp_path / "charts" / "progress.png", NOW, BERLIN)
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 20_000


# --- the command ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def learned(tmp_path_factory) -> Path:
    """A data folder with real answers on the shipped deck over three days (made once)."""
    data = tmp_path_factory.mktemp("learned")
    rng = random.Random(0)
    clock = FakeClock(utc(2025, 5, 1, 9))
    deck = load_deck()
    with Store(default_path(data)) as store:
        for _ in range(3):
            session = Session(deck, store, clock=clock, new_per_day=10)
            while session.current is not None:
                clock.advance(seconds=rng.randint(3, 40))
                session.answer(rng.choice(list(Rating)))
            clock.advance(days=1)
    return data


def copy_of(learned: Path, tmp_path: Path, name: str = "data") -> Path:
    return Path(shutil.copytree(learned, tmp_path / name))


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_progress_table_on_a_fresh_install(capsys, monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    code, out, _ = run(capsys, "progress")
    assert code == 0
    assert "Diffusion basics" in out and "Streak: 0 day(s)" in out
    total = next(line for line in out.splitlines() if line.strip().startswith("total")).split()
    cards = str(len(load_deck().items))
    assert total[1:4] == [cards, cards, "0"]
    assert default_path().exists()


def test_progress_json_after_learning(capsys, learned):
    code, out, _ = run(capsys, "--data-dir", str(learned), "progress", "--json")
    assert code == 0
    data = json.loads(out)
    reviewed = len(dump(default_path(learned))[0])
    assert 0 < reviewed < len(load_deck().items)
    assert data["total"]["new"] == len(load_deck().items) - reviewed
    assert data["total"]["learning"] + data["total"]["review"] == reviewed
    assert len(data["topics"]) == 9 and data["not_in_deck"] is None


def test_plot_option_and_bad_plot_name(capsys, tmp_path):
    code, out, _ = run(capsys, "progress", "--plot", str(tmp_path / "p.png"))
    assert code == 0 and "chart written" in out
    assert (tmp_path / "p.png").read_bytes()[:4] == b"\x89PNG"
    code, _, err = run(capsys, "progress", "--plot", str(tmp_path / "p.txt"))
    assert code == 2 and err.startswith("learnapp: error: --plot needs") and err.count("\n") == 1


def test_export_import_round_trip(capsys, tmp_path, learned):
    first, second = copy_of(learned, tmp_path), tmp_path / "second"
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert run(capsys, "--data-dir", str(first), "progress", "--export", str(a))[0] == 0
    code, out, _ = run(capsys, "--data-dir", str(second), "progress", "--import", str(a))
    rows = len(a.read_text().splitlines()) - 1
    assert code == 0 and f"imported {rows} review(s)" in out and rows > 50
    assert run(capsys, "--data-dir", str(second), "progress", "--export", str(b))[0] == 0
    assert a.read_bytes() == b.read_bytes()
    assert dump(default_path(first)) == dump(default_path(second))
    code, out, _ = run(capsys, "--data-dir", str(second), "progress", "--import", str(a))
    assert code == 0 and "imported 0 review(s)" in out and f"{rows} were already there" in out


def mutate(lines: list[str], how: str) -> list[str]:
    record = json.loads(lines[4])
    if how == "rating":
        record["rating"] = 7
    elif how == "missing":
        del record["after"]
    elif how == "unknown":
        record["mood"] = "great"
    elif how == "time":
        record["reviewed_at"] = "yesterday"
    elif how == "naive":
        record["reviewed_at"] = record["reviewed_at"][:-6]
    elif how == "state":
        record["after"]["state"] = 0
    elif how == "json":
        return [*lines[:4], '{"item": "dm-001",', *lines[5:]]
    return [*lines[:4], json.dumps(record), *lines[5:]]


@pytest.mark.parametrize("how", ["rating", "missing", "unknown", "time", "naive", "state", "json"])
def test_malformed_import_is_refused_whole(capsys, tmp_path, learned, how):
    backup = tmp_path / "a.jsonl"
    run(capsys, "--data-dir", str(copy_of(learned, tmp_path)), "progress", "--export", str(backup))
    lines = backup.read_text().splitlines()
    backup.write_text("\n".join(mutate(lines, how)) + "\n")
    target = tmp_path / "second"
    Store(default_path(target)).close()
    before = dump(default_path(target))
    code, out, err = run(capsys, "--data-dir", str(target), "progress", "--import", str(backup))
    assert code == 2 and out == ""
    assert err.startswith("learnapp: error:") and err.count("\n") == 1
    assert "line 5" in err and "nothing imported" in err
    assert dump(default_path(target)) == before


def test_import_that_contradicts_the_store_is_refused_whole(capsys, tmp_path, learned):
    data = copy_of(learned, tmp_path)
    backup = tmp_path / "a.jsonl"
    run(capsys, "--data-dir", str(data), "progress", "--export", str(backup))
    lines = backup.read_text().splitlines()
    extra = json.loads(lines[1]) | {"item": "brand-new"}  # would be added...
    changed = json.loads(lines[-1]) | {"duration_ms": 1}  # ...but this one contradicts
    backup.write_text("\n".join([lines[0], json.dumps(extra), json.dumps(changed)]) + "\n")
    before = dump(default_path(data))
    code, _, err = run(capsys, "--data-dir", str(data), "progress", "--import", str(backup))
    assert code == 2 and "line 3 contradicts" in err
    assert dump(default_path(data)) == before


@pytest.mark.parametrize("content", [b"", b"hello\n", b'{"format": "something-else"}\n', b"\xff\xfe\n"])
def test_a_file_that_is_not_an_export_is_refused(capsys, tmp_path, content):
    path = tmp_path / "x.jsonl"
    path.write_bytes(content)
    code, _, err = run(capsys, "progress", "--import", str(path))
    assert code == 2 and "not a learnapp export" in err and err.count("\n") == 1


def test_corrupt_database_message_from_the_command(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "progress.sqlite3").write_bytes(b"garbage" * 1000)
    result = subprocess.run(
        [sys.executable, "-m", "learnapp.cli", "--data-dir", str(data), "progress"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.startswith("learnapp: error: ") and result.stderr.count("\n") == 1
    assert str(data / "progress.sqlite3") in result.stderr and "Traceback" not in result.stderr
    assert (data / "progress.sqlite3").read_bytes() == b"garbage" * 1000


def test_data_dir_that_cannot_be_made_is_a_one_line_error(capsys, tmp_path):
    (tmp_path / "a-file").write_text("not a folder")
    code, _, err = run(capsys, "--data-dir", str(tmp_path / "a-file" / "data"), "progress")
    assert code == 2 and err.startswith("learnapp: error: cannot create the folder") and err.count("\n") == 1


# --- nothing the learner has is written over; imports of other decks ----------------------------


def test_export_onto_the_live_store_is_refused_and_the_store_kept(capsys, tmp_path, learned):
    data = copy_of(learned, tmp_path)
    store = default_path(data)
    before = store.read_bytes()
    code, out, err = run(capsys, "--data-dir", str(data), "progress", "--export", str(store), "--force")
    assert code == 2 and out == "" and err.count("\n") == 1
    assert f"{store} is the progress store" in err
    assert store.read_bytes() == before and sorted(p.name for p in data.iterdir()) == ["progress.sqlite3"]


def test_export_and_plot_keep_an_existing_file_unless_forced(capsys, tmp_path, learned):
    data = copy_of(learned, tmp_path)
    for option, name in (("--export", "kept.jsonl"), ("--plot", "kept.png")):
        kept = tmp_path / name
        kept.write_text("the learner's own file")
        code, _, err = run(capsys, "--data-dir", str(data), "progress", option, str(kept))
        assert code == 2 and err == f"learnapp: error: {kept} already exists; add --force to replace it\n"
        assert kept.read_text() == "the learner's own file"
        assert run(capsys, "--data-dir", str(data), "progress", option, str(kept), "--force")[0] == 0
        assert kept.read_text(errors="replace") != "the learner's own file"
    # no temporary file is left beside them
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data", "kept.jsonl", "kept.png"]


def with_unknown_ids(source: Path, target: Path, count: int) -> Path:
    """An export of `source` plus `count` reviews of ids this deck does not have."""
    lines = source.read_text().splitlines()
    extra = [json.dumps(json.loads(lines[1]) | {"item": f"other-{n:03d}"}) for n in range(count)]
    target.write_text("\n".join([*lines, *extra]) + "\n")
    return target


def test_import_of_unknown_ids_is_refused_whole_unless_allowed(capsys, tmp_path, learned):
    exported = tmp_path / "a.jsonl"
    run(capsys, "--data-dir", str(copy_of(learned, tmp_path)), "progress", "--export", str(exported))
    backup = with_unknown_ids(exported, tmp_path / "b.jsonl", 7)
    target = tmp_path / "second"
    Store(default_path(target)).close()
    before = dump(default_path(target))
    code, out, err = run(capsys, "--data-dir", str(target), "progress", "--import", str(backup))
    assert code == 2 and out == "" and err.count("\n") == 1
    assert "7 review(s) name 7 item id(s) the deck does not have" in err
    assert "(other-000, other-001, other-002, other-003, other-004, ...)" in err and "other-005" not in err
    assert dump(default_path(target)) == before
    code, out, _ = run(capsys, "--data-dir", str(target), "progress", "--import", str(backup), "--allow-unknown-ids")
    reviews = len(exported.read_text().splitlines()) - 1
    assert code == 0 and f"imported {reviews + 7} review(s)" in out


def test_dry_run_says_what_would_be_added_and_changes_nothing(capsys, tmp_path, learned):
    data = copy_of(learned, tmp_path)
    exported = tmp_path / "a.jsonl"
    run(capsys, "--data-dir", str(data), "progress", "--export", str(exported))
    backup = with_unknown_ids(exported, tmp_path / "b.jsonl", 2)
    reviews = len(exported.read_text().splitlines()) - 1
    items = len({json.loads(line)["item"] for line in exported.read_text().splitlines()[1:]})
    target = tmp_path / "second"
    Store(default_path(target)).close()
    files = {p.name: p.read_bytes() for p in target.iterdir()}

    code, out, _ = run(
        capsys, "--data-dir", str(target), "progress", "--import", str(backup), "--dry-run", "--allow-unknown-ids"
    )
    assert code == 0 and out == (
        f"would add {reviews} review(s) of {items} item(s) in the deck and 2 review(s) of 2 item(s) not in it "
        "(other-000: 1, other-001: 1); 0 already there; nothing was changed (dry run)\n"
    )
    code, out, err = run(capsys, "--data-dir", str(target), "progress", "--import", str(backup), "--dry-run")
    assert code == 2 and out.startswith(f"would add {reviews} review(s)") and "--allow-unknown-ids" in err
    assert {p.name: p.read_bytes() for p in target.iterdir()} == files
    # against the store it came from, everything is already there
    code, out, _ = run(capsys, "--data-dir", str(data), "progress", "--import", str(exported), "--dry-run")
    assert code == 0 and out.startswith("would add 0 review(s) of 0 item(s) in the deck and 0 review(s) of 0")
    assert f"; {reviews} already there;" in out
