"""How fast the card browser's search and `learnapp progress --optimize` stay with a large collection.

- search: a synthetic deck of 100,000 cards (the shipped deck's questions and answers, each
  copy with other ids and a few words of another card, so the vocabulary grows as a real
  large deck's would), a store where most of them were reviewed and some are flagged,
  suspended or leeches; `CardIndex.search` for words, several words, typos, prefixes, ids and
  filters: median and 95th percentile per query, and the time to build the index.
  Target <= 50 ms per query.
- optimize: a log of 100,000 flashcard reviews drawn from a simulated learner
  (tests/memory_support.py; 5,000 cards, 20 answers each on average), then the whole
  `learnapp progress --optimize` process (interpreter start, torch import, fit, evaluation).
  Target <= 60 s on 2 cores.

    .venv/bin/python benchmarks/bench_cards.py
    .venv/bin/python benchmarks/bench_cards.py --cards 10000 --reviews 20000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import tempfile
import time
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fsrs import Card, Rating, State

from learnapp.browse import CardIndex
from learnapp.content import Deck, Topic, load_deck
from learnapp.store import Review, Store, default_path

# the simulated learner of the tests, and the benchmarks' process timing
sys.path[:0] = [str(Path(__file__).resolve().parent.parent / "tests"), str(Path(__file__).resolve().parent)]
from memory_support import simulate  # noqa: E402 (found through the sys.path entry above)
from timing import learnapp_command, run_seconds  # noqa: E402 (found through the sys.path entry above)

QUERIES = (
    ("one word", "noise", {}),
    ("two words", "noise schedule", {}),
    ("three words", "classifier free guidance", {}),
    ("typo", "guidence", {}),
    ("typo, two words", "nosie schedlur", {}),
    ("prefix", "invers", {}),
    ("id", "syn-0054321", {}),
    ("word + topic", "latent", {"topic": "t3"}),
    ("word + state", "sampler", {"state": "review"}),
    ("leeches", "", {"leech": True}),
    ("flagged", "", {"flagged": True}),
    ("rare word", "spectrogram", {}),
)
NOW = datetime(2026, 6, 1, 12, tzinfo=UTC)
PAGE = 50


def synthetic_deck(cards: int, seed: int = 0) -> Deck:
    """`cards` items in 10 topics: the shipped deck's texts, each with a few words of another card."""
    rng = random.Random(seed)
    real = load_deck().items
    topics: dict[str, list] = {f"t{n}": [] for n in range(10)}
    for n in range(cards):
        base, other = real[n % len(real)], rng.choice(real)
        extra = " ".join(rng.sample(other.answer.split(), min(3, len(other.answer.split()))))
        topic = f"t{n % 10}"
        topics[topic].append(
            replace(base, id=f"syn-{n:07d}", topic=topic, source=n + 1, question=f"{base.question} ({extra})")
        )
    return Deck(tuple(Topic(id=t, title=t, demo="noise-corruption", items=tuple(items)) for t, items in topics.items()))


def fill(store: Store, deck: Deck, seed: int = 0) -> None:
    """Most cards reviewed once or more; some flagged, suspended, or leeches."""
    rng = random.Random(seed)
    reviews = []
    for item in deck.items:
        if rng.random() < 0.2:
            continue  # new
        state = rng.choices((State.Learning, State.Review, State.Relearning), weights=(5, 90, 5))[0]
        at = NOW - timedelta(days=rng.randint(1, 300))
        after = Card(
            card_id=0,
            state=state,
            step=None if state == State.Review else 0,
            stability=rng.uniform(0.5, 100),
            difficulty=rng.uniform(1, 10),
            due=at + timedelta(days=rng.randint(1, 60)),
            last_review=at,
        )
        reviews.append(Review(item.id, at, Rating.Good, 4000, None, after))
        if rng.random() < 0.01:  # a leech: five lapses
            before = replace(after, state=State.Review, step=None)
            for n in range(1, 6):
                reviews.append(Review(item.id, at + timedelta(days=n), Rating.Again, 4000, before, after))
    store.merge_reviews(reviews)
    for item in rng.sample(deck.items, len(deck.items) // 100):
        store.set_flags(item.id, NOW, flagged=True, suspended=rng.random() < 0.3)


def bench_search(cards: int, runs: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        deck = synthetic_deck(cards)
        with Store(Path(folder) / "progress.sqlite3") as store:
            fill(store, deck)
            started = time.perf_counter()
            index = CardIndex(deck, store)
            built = time.perf_counter() - started
            print(
                f"search over {cards:,} cards: index built in {built * 1000:.0f} ms "
                f"({len(index._vocabulary):,} distinct words)"
            )
            times, cpu_times = [], []
            for name, query, filters in QUERIES:
                mine, cpu = [], []
                for _ in range(runs):
                    started, cpu_started = time.perf_counter(), time.process_time()
                    found = index.search(query, **filters)
                    page = found[:PAGE]  # what a browser shows first; the count is of all matches
                    mine.append(time.perf_counter() - started)
                    cpu.append(time.process_time() - cpu_started)
                assert len(page) == min(PAGE, len(found))
                times += mine
                cpu_times += cpu
                print(
                    f"  {name:<16} {query!r:<28} {len(found):>7,} cards  "
                    f"median {statistics.median(mine) * 1000:6.1f} ms"
                    f" (CPU {statistics.median(cpu) * 1000:5.1f} ms)"
                )
            times.sort()
            print(
                f"  all queries: median {statistics.median(times) * 1000:.1f} ms, "
                f"95th percentile {times[int(0.95 * (len(times) - 1))] * 1000:.1f} ms, "
                f"CPU median {statistics.median(cpu_times) * 1000:.1f} ms (target <= 50 ms)"
            )


def bench_optimize(reviews: int, cards: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        with Store(default_path(folder)) as store:
            started = time.perf_counter()
            store.merge_reviews(simulate(cards, reviews, NOW - timedelta(days=2000)))
            print(
                f"optimize: {reviews:,} reviews of {cards:,} cards simulated and stored in "
                f"{time.perf_counter() - started:.1f} s"
            )
        # CPU time as well as wall time: on a shared machine the wall time mostly measures the others
        cpu_before = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds = run_seconds([*learnapp_command(), "--data-dir", folder, "progress", "--optimize"])
        cpu_after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu_after.ru_utime - cpu_before.ru_utime) + (cpu_after.ru_stime - cpu_before.ru_stime)
        with Store(default_path(folder)) as store:
            model = store.memory_models()[-1]
        figures = model.figures
        print(
            f"  learnapp progress --optimize: {seconds:.1f} s wall, {cpu:.1f} s CPU "
            f"(target <= 60 s on 2 cores); fitted "
            f"{figures['fitted_answers']:,} answers, held out {figures['fitted']['reviews']:,} spaced reviews; "
            f"log loss {figures['default']['log_loss']:.4f} -> {figures['fitted']['log_loss']:.4f}, "
            f"RMSE (bins) {figures['default']['rmse_bins']:.4f} -> {figures['fitted']['rmse_bins']:.4f}, "
            f"adopted: {figures['adopted']}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cards", type=int, default=100_000, help="cards in the synthetic deck (search)")
    parser.add_argument("--runs", type=int, default=7, help="runs of each query")
    parser.add_argument("--reviews", type=int, default=100_000, help="reviews in the simulated log (optimize)")
    parser.add_argument("--review-cards", type=int, default=5_000, help="cards the simulated log spans")
    parser.add_argument("--only", choices=("search", "optimize"), help="run one of the two")
    args = parser.parse_args()
    print(
        f"{os.cpu_count()} CPU(s), load average {os.getloadavg()[0]:.1f} at start (a shared machine: "
        "wall times include waiting for the other processes)"
    )
    if args.only != "optimize":
        bench_search(args.cards, args.runs)
    if args.only != "search":
        bench_optimize(args.reviews, args.review_cards)


if __name__ == "__main__":
    main()
