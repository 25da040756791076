"""A simulated learner for the memory-model tests and benchmark: reviews drawn from a known
FSRS forgetting curve (parameters unlike the defaults) with a seeded rng."""

from __future__ import annotations

import heapq
import random
from collections.abc import Iterator
from datetime import datetime, timedelta

from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import DEFAULT_PARAMETERS

from learnapp.store import Review

# A learner who forgets much faster than FSRS assumes: low initial stabilities, slow growth.
TRUE_PARAMETERS = (
    0.05,
    0.1,
    0.3,
    1.0,
    *DEFAULT_PARAMETERS[4:8],
    0.8,
    0.3,
    DEFAULT_PARAMETERS[10],
    *DEFAULT_PARAMETERS[11:20],
    0.5,
)


def simulate(cards: int, reviews: int, start: datetime, seed: int = 0, item_prefix: str = "sim") -> Iterator[Review]:
    """`reviews` flashcard reviews of `cards` cards, oldest first.

    The learner is scheduled by FSRS at its defaults (as before any fitting) and recalls with
    the probability that TRUE_PARAMETERS give, so a fit should move towards those.
    """
    rng = random.Random(seed)
    scheduler = Scheduler(enable_fuzzing=False)
    truth = Scheduler(parameters=TRUE_PARAMETERS, enable_fuzzing=False)
    # new cards are introduced a few a day; (when, card number, id, card, the card under the truth)
    pending: list[tuple[datetime, int, str, Card | None, Card | None]] = []
    per_day = max(1, cards // 60)
    for n in range(cards):
        at = start + timedelta(days=n // per_day, minutes=n % per_day)
        heapq.heappush(pending, (at, n, f"{item_prefix}-{n:06d}", None, None))
    for _ in range(reviews):
        at, n, item_id, card, true_card = heapq.heappop(pending)
        before = card
        if card is None or true_card is None:
            rating = rng.choices(list(Rating), weights=(2, 2, 5, 1))[0]
            card, true_card = Card(card_id=0, due=at), Card(card_id=0, due=at)
        else:
            recalled = rng.random() < truth.get_card_retrievability(true_card, at)
            rating = (
                rng.choices((Rating.Hard, Rating.Good, Rating.Easy), weights=(2, 6, 1))[0] if recalled else Rating.Again
            )
        after, _ = scheduler.review_card(card, rating, at)
        true_after, _ = truth.review_card(true_card, rating, at)
        yield Review(item_id, at, rating, rng.randint(2000, 20000), before, after)
        # the learner comes back on the due day, some hours later
        heapq.heappush(pending, (after.due + timedelta(minutes=rng.randint(0, 600)), n, item_id, after, true_after))
