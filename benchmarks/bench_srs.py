"""How fast scheduling and progress stay with a large collection.

Builds synthetic progress files (default: 10,000 cards + 100,000 log rows, and 100,000
cards + 1,000,000 log rows) and measures, for each:

- queue: `srs.build_queue` over a deck holding every card (+10% new items), median of runs;
- answer: one `Session.answer` (preview already computed, the commit with fsync included),
  median and 95th percentile over many answers;
- progress: the whole `learnapp progress` process (interpreter start, imports, deck, SQL,
  table), median of several runs, next to `python -c pass` and `learnapp --help` for scale.

Targets on a 2-core machine: queue <= 100 ms, answer <= 5 ms median, progress <= 1 s.

    .venv/bin/python benchmarks/bench_srs.py                 # both sizes
    .venv/bin/python benchmarks/bench_srs.py --cards 100000 --runs 7
"""

from __future__ import annotations

import argparse
import os
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from fsrs import Rating

from learnapp.content import Deck, Item, Topic, load_deck
from learnapp.srs import LearningDay, Session, build_queue
from learnapp.store import Store, default_path, to_us

REVIEWS_PER_CARD = 10
DAY_US = 86_400_000_000
TOPICS = 10


def synthetic_ids(cards: int) -> list[str]:
    """The shipped deck's ids first (so `learnapp progress` has real topics), then made-up ones."""
    real = [item.id for item in load_deck().items]
    return real[:cards] + [f"syn-{n:07d}" for n in range(len(real), cards)]


def fill(path: Path, ids: list[str], now: datetime, seed: int = 0) -> None:
    """Cards in every state and REVIEWS_PER_CARD log rows each, over the last two years."""
    Store(path).close()  # the real schema
    rng = random.Random(seed)
    now_us = to_us(now)
    cards, log = [], []
    for item_id in ids:
        state = rng.choices((1, 2, 3), weights=(5, 90, 5))[0]
        stability = rng.uniform(0.5, 200.0)
        difficulty = rng.uniform(1.0, 10.0)
        last = now_us - rng.randrange(0, 30 * DAY_US)
        due = last + (int(stability * DAY_US) if state == 2 else 600_000_000)
        step = None if state == 2 else 0
        time_us = last - REVIEWS_PER_CARD * 3 * DAY_US
        previous = (None,) * 6
        for n in range(REVIEWS_PER_CARD):
            time_us += rng.randrange(DAY_US, 3 * DAY_US)
            is_last = n == REVIEWS_PER_CARD - 1
            at = last if is_last else time_us
            after = (
                (state, step, stability, difficulty, due, at)
                if is_last
                else (2, None, stability / 2, difficulty, at + DAY_US, at)
            )
            log.append((item_id, at, rng.randint(1, 4), rng.randint(2000, 30000), *previous, *after))
            previous = after
        cards.append((item_id, state, step, stability, difficulty, due, last, REVIEWS_PER_CARD, 1))
    db = sqlite3.connect(path)
    with db:
        db.executemany("INSERT INTO cards VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", cards)
        db.executemany(
            f"""INSERT INTO revlog (item_id, reviewed_at, rating, duration_ms,
                before_state, before_step, before_stability, before_difficulty, before_due, before_last_review,
                after_state, after_step, after_stability, after_difficulty, after_due, after_last_review)
                VALUES ({", ".join("?" * 16)})""",
            log,
        )
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("ANALYZE")
    db.close()


def deck_of(ids: list[str], extra_new: int) -> Deck:
    """A deck holding every card of the file plus `extra_new` never-seen items."""
    all_ids = ids + [f"new-{n:07d}" for n in range(extra_new)]
    size = -(-len(all_ids) // TOPICS)
    topics = []
    for t in range(TOPICS):
        chunk = all_ids[t * size : (t + 1) * size]
        topic_id = f"topic-{t}"
        items = tuple(
            Item(
                id=i,
                source=n,
                question=f"q {i}",
                answer=f"a {i}",
                distractors=(f"x {i}", f"y {i}", f"z {i}"),
                topic=topic_id,
            )
            for n, i in enumerate(chunk, 1)
        )
        topics.append(Topic(id=topic_id, title=f"Topic {t}", demo="noise-corruption", items=items))
    return Deck(tuple(topics))


def ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def whole_process(argv: list[str], env: dict[str, str], runs: int) -> float:
    times = []
    for _ in range(runs + 1):  # the first run warms the OS file cache
        start = time.perf_counter()
        subprocess.run(argv, env=env, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times[1:])


def learnapp_command() -> list[str]:
    script = Path(sys.executable).with_name("learnapp")
    return [str(script)] if script.exists() else [sys.executable, "-m", "learnapp.cli"]


def measure(cards: int, runs: int, answers: int, folder: Path) -> dict[str, float]:
    now = datetime.now(UTC)
    data = folder / f"cards-{cards}"
    path = default_path(data)
    ids = synthetic_ids(cards)
    start = time.perf_counter()
    fill(path, ids, now)
    built = time.perf_counter() - start
    os.sync()  # the fill's writeback should not land in the timings
    size_mb = path.stat().st_size / 1e6
    deck = deck_of(ids, extra_new=cards // 10)
    day = LearningDay()
    result: dict[str, float] = {}
    with Store(path) as store:
        times = []
        for _ in range(runs + 1):
            start = time.perf_counter()
            queue = build_queue(deck, store, now, day=day, new_per_day=20)
            times.append(time.perf_counter() - start)
        result["queue"] = statistics.median(times[1:])
        result["queue_cards"] = len(queue)

        session = Session(deck, store, day=day, new_per_day=20)
        ratings = list(Rating)
        times = []
        for n in range(answers):
            _ = session.current  # the card is shown (loaded, four outcomes previewed) before timing
            start = time.perf_counter()
            session.answer(ratings[n % 4])
            times.append(time.perf_counter() - start)
        times.sort()
        result["answer"] = statistics.median(times)
        result["answer_p95"] = times[int(0.95 * len(times))]
    env = dict(os.environ, LEARNAPP_DATA_DIR=str(data), COLUMNS="100")
    result["progress"] = whole_process([*learnapp_command(), "progress"], env, runs)
    result["progress_json"] = whole_process([*learnapp_command(), "progress", "--json"], env, runs)
    print(
        f"\n{cards:,} cards, {cards * REVIEWS_PER_CARD:,} log rows ({size_mb:.0f} MB, built in {built:.1f} s)\n"
        f"  build today's queue ({int(result['queue_cards']):,} cards): {ms(result['queue'])} median of {runs}"
        f"   [target <= 100 ms]\n"
        f"  record one answer: {ms(result['answer'])} median, {ms(result['answer_p95'])} p95 of {answers}"
        f"   [target <= 5 ms]\n"
        f"  learnapp progress, whole process: {ms(result['progress'])} median of {runs}   [target <= 1 s]\n"
        f"  learnapp progress --json, whole process: {ms(result['progress_json'])}",
        flush=True,
    )
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--answers", type=int, default=300)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="learnapp-bench-") as folder:
        env = dict(os.environ, LEARNAPP_DATA_DIR=str(Path(folder) / "empty"))
        baseline = whole_process([sys.executable, "-c", "pass"], env, args.runs)
        help_time = whole_process([*learnapp_command(), "--help"], env, args.runs)
        print(f"python -c pass: {ms(baseline)}; learnapp --help: {ms(help_time)} (whole process, median)")
        results = {cards: measure(cards, args.runs, args.answers, Path(folder)) for cards in args.cards}
    if len(results) > 1:
        small, large = min(results), max(results)
        print(f"\ngrowth from {small:,} to {large:,} cards ({large // small}x):")
        for key in ("queue", "answer", "progress"):
            print(f"  {key}: x{results[large][key] / results[small][key]:.2f}")


if __name__ == "__main__":
    main()
