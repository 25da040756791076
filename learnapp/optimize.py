"""Personal FSRS parameters: fit them to the learner's own flashcard answers, check them on
answers the fit never saw, and adopt them only when they predict recall better.

- Data: flashcard answers only. Multiple choice is recognition, not recall: picking the answer
  among four is easier than producing it, so those answers would teach FSRS a memory better
  than the learner's. Each card's history is its answers in time order.
- Spaced review: an answer at least a day after the card's previous one. These are the only
  answers FSRS's loss counts (same-day learning steps test short-term memory), and the
  optimizer of the `fsrs` package needs `MIN_SPACED` of them in the first `MAX_HISTORY`
  answers of each card, or it returns its defaults.
- Split: the cards are shuffled with a fixed seed; the first ones, up to 80% of the spaced
  reviews, are fitted (at most `FIT_BUDGET` answers: the pure-Python optimizer takes about
  7 ms an answer on a laptop core, and a few thousand answers pin 21 parameters down); the
  other cards are held out. So the learner needs `needed()` spaced reviews in all.
- Figures, on the held-out cards only: FSRS replays each card's history at the given
  parameters and predicts recall before every spaced review; log loss is the mean binary
  cross-entropy of those predictions, RMSE (bins) the root mean square gap between predicted
  and observed recall over `BINS` bins of predicted recall, weighted by their reviews
  (a calibration error: 0.05 means predictions off by about 5 points).
- Adoption: the fitted parameters are kept only if they beat the defaults on both figures
  (and, when an earlier fit is in use, its log loss); otherwise nothing changes. Every fit is
  recorded with its date and figures (`Store.memory_models`); `reset()` goes back to the
  defaults. torch is imported only by `fit_parameters`, i.e. only by `--optimize`.

Public API: `optimize(store, now) -> Fit`, `spaced_reviews(store) -> int`, `needed()`,
`evaluate(parameters, histories) -> Figures`, `reset(store) -> bool`, `histories(store)`.
"""

from __future__ import annotations

import itertools
import math
import random
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from fsrs import Card, Rating, Scheduler
from fsrs.scheduler import DEFAULT_PARAMETERS

from learnapp.errors import UserError
from learnapp.store import FLASHCARD, Store, from_us

MIN_SPACED = 512  # fsrs.optimizer's mini_batch_size: fewer spaced reviews and it returns the defaults
MAX_HISTORY = 64  # fsrs.optimizer's max_seq_len: it reads each card's first 64 answers
HELD_OUT = 0.2
FIT_BUDGET = 5000
SEED = 17
BINS = 20
_DAY = timedelta(days=1)

History = list[tuple[datetime, Rating]]
Fitter = Callable[[Sequence[History]], Sequence[float]]


@dataclass(frozen=True)
class Figures:
    """How well some parameters predicted recall on held-out spaced reviews (lower is better)."""

    log_loss: float
    rmse_bins: float
    reviews: int

    def beats(self, other: Figures) -> bool:
        return self.log_loss < other.log_loss and self.rmse_bins < other.rmse_bins


@dataclass(frozen=True)
class Fit:
    """The result of `optimize`. Without enough reviews only `spaced` and `needed` are set."""

    spaced: int
    needed: int
    parameters: tuple[float, ...] | None = None
    default: Figures | None = None
    fitted: Figures | None = None
    current: Figures | None = None  # the earlier fit in use, if any, on the same reviews
    adopted: bool = False
    fitted_answers: int = 0
    fitted_cards: int = 0
    held_out_cards: int = 0

    @property
    def enough(self) -> bool:
        return self.parameters is not None

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def needed() -> int:
    """Spaced reviews the learner needs: MIN_SPACED to fit, and a held-out share on top."""
    return math.ceil(MIN_SPACED / (1 - HELD_OUT))


def histories(store: Store) -> dict[str, History]:
    """Each item's flashcard answers, oldest first."""
    result: dict[str, History] = {}
    for item_id, at, rating in store.answers(FLASHCARD):
        result.setdefault(item_id, []).append((from_us(at), Rating(rating)))
    return result


def _spaced(history: History) -> int:
    return sum(later - earlier >= _DAY for (earlier, _), (later, _) in itertools.pairwise(history))


def spaced_reviews(store: Store) -> int:
    """The spaced reviews the optimizer would count (first MAX_HISTORY answers of each card)."""
    return sum(_spaced(history[:MAX_HISTORY]) for history in histories(store).values())


def _split(cards: dict[str, History], budget: int) -> tuple[list[History], list[History]]:
    """(fitted, held out): whole cards, shuffled with a fixed seed (see the module docstring)."""
    order = sorted(cards)
    random.Random(SEED).shuffle(order)
    total = sum(_spaced(cards[item][:MAX_HISTORY]) for item in order)
    fitted: list[History] = []
    spaced = answers = 0
    for item in order:
        if spaced >= MIN_SPACED and (spaced >= (1 - HELD_OUT) * total or answers >= budget):
            break
        history = cards[item][:MAX_HISTORY]
        fitted.append(history)
        spaced += _spaced(history)
        answers += len(history)
    return fitted, [cards[item] for item in order[len(fitted) :]]


def predictions(parameters: Sequence[float], cards: Sequence[History]) -> list[tuple[float, int]]:
    """(predicted recall, recalled 0/1) before every spaced review, FSRS replaying each card."""
    scheduler = Scheduler(parameters=parameters, enable_fuzzing=False)
    result = []
    for history in cards:
        card = Card(card_id=0, due=history[0][0])
        previous: datetime | None = None
        for at, rating in history:
            if previous is not None and at - previous >= _DAY:
                result.append((scheduler.get_card_retrievability(card, at), int(rating != Rating.Again)))
            card, _ = scheduler.review_card(card, rating, at)
            previous = at
    return result


def evaluate(parameters: Sequence[float], cards: Sequence[History]) -> Figures:
    """Log loss and RMSE over bins of predicted recall on the spaced reviews of `cards`."""
    pairs = predictions(parameters, cards)
    if not pairs:
        raise ValueError("no spaced reviews to evaluate on")
    loss = 0.0
    bins: dict[int, list[float]] = {}
    for predicted, recalled in pairs:
        p = min(max(predicted, 1e-6), 1 - 1e-6)
        loss -= math.log(p) if recalled else math.log(1 - p)
        sums = bins.setdefault(min(int(predicted * BINS), BINS - 1), [0.0, 0.0, 0.0])
        sums[0] += predicted
        sums[1] += recalled
        sums[2] += 1
    square = sum((predicted - recalled) ** 2 / count for predicted, recalled, count in bins.values())
    return Figures(loss / len(pairs), math.sqrt(square / len(pairs)), len(pairs))


def fit_parameters(cards: Sequence[History]) -> list[float]:
    """The `fsrs` package's optimizer (torch, imported here only) on these histories."""
    try:
        from fsrs import Optimizer, ReviewLog

        logs = [
            ReviewLog(card_id=number, rating=rating, review_datetime=at, review_duration=None)
            for number, history in enumerate(cards, start=1)
            for at, rating in history
        ]
        return [float(p) for p in Optimizer(logs).compute_optimal_parameters()]
    except ImportError as exc:
        raise UserError(f'fitting needs the optimizer: pip install "fsrs[optimizer]" ({exc})') from None


def optimize(store: Store, now: datetime, fitter: Fitter | None = None, budget: int = FIT_BUDGET) -> Fit:
    """Fit, evaluate and (only if better) adopt; every fit is recorded in the store.

    `fitter` defaults to `fit_parameters`; `budget` caps the answers fitted (see the module
    docstring), the held-out cards take the rest.
    """
    cards = histories(store)
    spaced = sum(_spaced(history[:MAX_HISTORY]) for history in cards.values())
    if spaced < needed():
        return Fit(spaced, needed())
    fitted_cards, held_out = _split(cards, budget)
    if not any(_spaced(history) for history in held_out):
        return Fit(spaced, needed())
    parameters = tuple(float(p) for p in (fitter or fit_parameters)(fitted_cards))
    default, fitted = evaluate(DEFAULT_PARAMETERS, held_out), evaluate(parameters, held_out)
    model = store.memory_model()
    current = evaluate(model.parameters, held_out) if model else None
    adopted = fitted.beats(default) and (current is None or fitted.log_loss < current.log_loss)
    result = Fit(
        spaced,
        needed(),
        parameters,
        default,
        fitted,
        current,
        adopted,
        fitted_answers=sum(map(len, fitted_cards)),
        fitted_cards=len(fitted_cards),
        held_out_cards=len(held_out),
    )
    figures = {key: value for key, value in result.to_dict().items() if key != "parameters"}
    store.add_memory_model(now, parameters, figures, in_use=adopted)
    return result


def reset(store: Store) -> bool:
    """Back to FSRS's default parameters; False if they were already in use."""
    return store.reset_memory_model()
