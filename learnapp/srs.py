"""Scheduling: which cards to review now, and what each answer does to them.

FSRS itself comes from the `fsrs` package (`Scheduler.review_card`); this module adds what
it lacks: the learner's day, the queue, interval previews, undo, practice mode and
multiple-choice grading. Nothing here imports Textual or torch, so a UI is a thin view:

    session = Session(deck, store)            # clock=, scheduler=, day=, topics=, cram=, mode=
    while (item := session.current) is not None:
        outcomes = session.previews()         # {Rating: Outcome}, label e.g. "10m", "3d"
        session.answer(Rating.Good)           # saves exactly outcomes[Rating.Good]
    session.undo()                            # last answer taken back, its card shown again
    session.summary()                         # counts for the end-of-session screen

Definitions:

- Learning day: a local calendar day that starts at `rollover_hour` (default 4 am) in the
  learner's time zone (the system's, DST included, unless `LearningDay(tz=...)` says
  otherwise). Times are stored in UTC; "due today" means due before the next rollover.
- Queue: review cards due today, most overdue first; then new cards (never reviewed) in
  course order, up to `new_per_day` first reviews a day. Cards in (re)learning steps
  (minutes apart) come back in the same session as soon as they are due, or up to
  `LEARN_AHEAD` early when nothing else is left.
- Previews: the four outcomes are computed once, when the card is shown, with one call of
  `review_card` per rating, and the chosen one is saved: same state, stability, difficulty
  and interval, so the interval on a button is the interval saved even with FSRS's random
  fuzz. As in Anki, the interval counts from the moment of the answer (`Outcome.at`), so
  think time does not eat into a one-minute learning step. Should another process answer
  the same card in the meantime, the answer is applied to that newer state instead
  (`Store.record` detects it).
- Practice ("cram"): every card of the chosen topics, in course order; nothing is saved;
  Again puts the card at the end of the session, any other rating drops it.
- Mastered: a card in Review state whose stability is at least 21 days (recall stays above
  90% for three weeks without review) - `is_mastered`.
- Scheduler: FSRS with the parameters fitted to the learner's own flashcard reviews when
  `learnapp progress --optimize` adopted some (`Store.memory_model`), else its defaults -
  `scheduler_for(store)`. Each answer is logged with the session's `mode` (FLASHCARD or
  CHOICE): multiple choice moves the schedule too, but only flashcards are fitted.
- Multiple choice (`MultipleChoice`): the answer among three of the item's hand-written
  distractors (never other answers: those are often rewordings of the right one).
  Wrong -> Again; right -> Good, or Hard when slower than a calm reading of the question
  and options plus ten seconds (one second per 20 characters). Never Easy: a click
  cannot tell "knew it" from "knew it well".
"""

from __future__ import annotations

import bisect
import copy
import itertools
import random
from collections import Counter, deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from fsrs import Card, Rating, Scheduler, State

from learnapp.content import Deck, Item
from learnapp.errors import UserError
from learnapp.store import FLASHCARD, MODES, CardChanged, Review, Store

NEW_PER_DAY = 20
ROLLOVER_HOUR = 4
LEARN_AHEAD = timedelta(minutes=20)
MASTERED_STABILITY_DAYS = 21.0
READING_CHARS_PER_SECOND = 20
CHOICE_GRACE = timedelta(seconds=10)

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def scheduler_for(store: Store) -> Scheduler:
    """FSRS at the learner's fitted parameters if some were adopted, else at its defaults."""
    model = store.memory_model()
    return Scheduler(parameters=model.parameters) if model else Scheduler()


def is_mastered(card: Card | None) -> bool:
    return card is not None and card.state == State.Review and (card.stability or 0.0) >= MASTERED_STABILITY_DAYS


def forgetting_curve(scheduler: Scheduler) -> tuple[float, float]:
    """(factor, decay) of FSRS's curve R = (1 + factor * days / stability) ** decay, for SQL.

    fsrs computes the curve only card by card (`Scheduler.get_card_retrievability`) and keeps
    its constants private, so this is the one place that re-derives them, as FSRS-6 defines
    them: decay = -w20 of the public `parameters`, and R = 90% after `stability` days.
    tests/test_srs.py compares the result with fsrs's own retrievability: a change in the
    library fails there.
    """
    decay = -scheduler.parameters[20]
    return 0.9 ** (1 / decay) - 1, decay


# --- the learner's day ----------------------------------------------------------------------


@dataclass(frozen=True)
class LearningDay:
    """Local days that start at `rollover_hour`; tz None means the system's time zone."""

    tz: tzinfo | None = None
    rollover_hour: int = ROLLOVER_HOUR

    def __post_init__(self) -> None:
        if not 0 <= self.rollover_hour <= 23:
            raise UserError(f"the day's rollover hour must be 0-23, not {self.rollover_hour}")

    def day_of(self, moment: datetime) -> date:
        """The learning day that `moment` (aware) falls in."""
        local = moment.astimezone(self.tz)
        return (local.replace(tzinfo=None) - timedelta(hours=self.rollover_hour)).date()

    def start(self, day: date) -> datetime:
        """When learning day `day` begins, in UTC (local days are 23 or 25 h long across DST)."""
        wall = datetime.combine(day, time(self.rollover_hour))
        local = wall.replace(tzinfo=self.tz) if self.tz is not None else wall.astimezone()
        return local.astimezone(UTC)

    def next_start(self, moment: datetime) -> datetime:
        """The end of `moment`'s learning day: cards due before it are due today."""
        return self.start(self.day_of(moment) + timedelta(days=1))

    def bounds(self, first: date, days: int) -> list[datetime]:
        """The starts of `days` consecutive learning days from `first`, and the end of the last."""
        return [self.start(first + timedelta(days=n)) for n in range(days + 1)]


# --- outcomes -------------------------------------------------------------------------------


_UNITS = (("s", 1, 0), ("m", 60, 0), ("h", 3600, 1), ("d", 86400, 0), ("mo", 30 * 86400, 1), ("y", 365 * 86400, 1))


def format_interval(interval: timedelta) -> str:
    """Short, Anki-like: 45s, 10m, 1.5h, 4d, 2mo, 1.2y."""
    seconds = max(0.0, interval.total_seconds())
    for (unit, size, decimals), (_, next_size, _) in itertools.pairwise(_UNITS):
        if seconds < next_size:
            return _number(seconds / size, decimals) + unit
    unit, size, decimals = _UNITS[-1]
    return _number(seconds / size, decimals) + unit


def _number(value: float, decimals: int) -> str:
    text = f"{value:.{decimals}f}"
    return text[:-2] if text.endswith(".0") else text


@dataclass(frozen=True)
class Outcome:
    """What one rating does: the card after it (None in practice mode) and a button label."""

    rating: Rating
    label: str
    interval: timedelta | None = None
    card: Card | None = None

    def at(self, moment: datetime) -> Outcome:
        """The same outcome for an answer given at `moment`: the interval counts from then."""
        if self.card is None or self.interval is None:
            return self
        card = copy.copy(self.card)
        card.last_review, card.due = moment, moment + self.interval
        return replace(self, card=card)


def preview(scheduler: Scheduler, card: Card, at: datetime) -> dict[Rating, Outcome]:
    """The four possible answers to `card` at time `at` (UTC), each reviewed once."""
    outcomes = {}
    for rating in Rating:
        after, _ = scheduler.review_card(card, rating, at)
        interval = after.due - at
        outcomes[rating] = Outcome(rating, format_interval(interval), interval, after)
    return outcomes


def _practice_outcomes() -> dict[Rating, Outcome]:
    return {rating: Outcome(rating, "again" if rating == Rating.Again else "done") for rating in Rating}


# --- the queue ------------------------------------------------------------------------------


def select_items(deck: Deck, topics: Collection[str] | None, item_ids: Collection[str] | None = None) -> list[Item]:
    """The deck's items in course order, only those of `topics` and of `item_ids` if given."""
    if item_ids:
        return [item for item in select_items(deck, topics) if item.id in item_ids]
    if not topics:
        return deck.items
    known = {topic.id for topic in deck.topics}
    unknown = sorted(set(topics) - known)
    if unknown:
        raise UserError(f"unknown topic {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [item for topic in deck.topics if topic.id in topics for item in topic.items]


@dataclass(frozen=True)
class Queue:
    """Item ids for one session, in the order they are shown (see the module docstring)."""

    due: tuple[str, ...]
    learning: tuple[tuple[datetime, str], ...]
    new: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.due) + len(self.learning) + len(self.new)


def build_queue(
    deck: Deck,
    store: Store,
    now: datetime,
    *,
    day: LearningDay | None = None,
    new_per_day: int = NEW_PER_DAY,
    topics: Collection[str] | None = None,
    learn_ahead: timedelta = LEARN_AHEAD,
    item_ids: Collection[str] | None = None,
) -> Queue:
    """Today's queue: cards due before the next rollover, then new cards up to the day's limit."""
    day = day or LearningDay()
    items = select_items(deck, topics, item_ids)
    wanted = deck.by_id if not (topics or item_ids) else {item.id for item in items}
    # other topics, and items no longer in the deck, are left out
    due = [i for i in store.due_reviews(day.next_start(now)) if i in wanted]
    # (re)learning cards due later today wait for a later session, as in Anki
    learning = [(when, i) for when, i in store.due_learning(now + learn_ahead) if i in wanted]
    introduced = store.new_cards_since(day.start(day.day_of(now)))
    new = store.unseen([item.id for item in items], max(0, new_per_day - introduced))
    return Queue(tuple(due), tuple(learning), tuple(new))


# --- multiple choice ------------------------------------------------------------------------


@dataclass(frozen=True)
class MultipleChoice:
    """A question with shuffled options, one of them right; grades itself."""

    item: Item
    options: tuple[str, ...]
    answer: int

    @classmethod
    def make(cls, deck: Deck, item: Item, rng: random.Random, size: int = 4) -> MultipleChoice:
        """The answer and `size - 1` of the item's distractors (the deck guarantees 3), shuffled.

        `deck` is not read: the options come from the item alone (the review screen passes it).
        """
        options = [item.answer, *rng.sample(item.distractors, min(size - 1, len(item.distractors)))]
        order = list(range(len(options)))
        rng.shuffle(order)
        return cls(item, tuple(options[i] for i in order), order.index(0))

    @property
    def slow_after(self) -> timedelta:
        characters = len(self.item.question) + sum(len(o) for o in self.options)
        return CHOICE_GRACE + timedelta(seconds=characters / READING_CHARS_PER_SECOND)

    def grade(self, chosen: int, elapsed: timedelta) -> Rating:
        if chosen != self.answer:
            return Rating.Again
        return Rating.Hard if elapsed > self.slow_after else Rating.Good


# --- a review session -----------------------------------------------------------------------


@dataclass
class _Shown:
    item_id: str
    shown_at: datetime
    before: Card | None  # None: a new card
    outcomes: dict[Rating, Outcome]
    due: datetime | None = None  # set when the card came from the learning pile


@dataclass(frozen=True)
class _Answered:
    shown: _Shown
    outcome: Outcome
    review_id: int | None  # None in practice mode
    duration: timedelta
    requeued: bool


@dataclass(frozen=True)
class Summary:
    """The end-of-session figures."""

    answered: int
    ratings: dict[Rating, int]
    new_cards: int
    time_spent: timedelta
    remaining: int
    practice: bool

    @property
    def recalled(self) -> int:
        """Answers that were not Again: the cards the learner knew."""
        return self.answered - self.ratings.get(Rating.Again, 0)


@dataclass
class Session:
    """One sitting of reviews over `deck`, saved in `store` (see the module docstring)."""

    deck: Deck
    store: Store
    clock: Clock = utc_now
    scheduler: Scheduler | None = None  # None: `scheduler_for(store)`
    day: LearningDay = field(default_factory=LearningDay)
    new_per_day: int = NEW_PER_DAY
    topics: Collection[str] | None = None
    cram: bool = False
    learn_ahead: timedelta = LEARN_AHEAD
    mode: str = FLASHCARD  # logged with each answer
    item_ids: Collection[str] | None = None  # only these cards (the card browser's "review now")

    def __post_init__(self) -> None:
        if self.mode not in MODES:
            raise ValueError(f"unknown review mode {self.mode!r} (known: {', '.join(MODES)})")
        self.fsrs: Scheduler = self.scheduler or scheduler_for(self.store)
        self._main: deque[str] = deque()
        self._learning: list[tuple[datetime, str]] = []  # sorted by due
        self._shown: _Shown | None = None
        self._history: list[_Answered] = []
        if self.cram:
            self._main.extend(item.id for item in select_items(self.deck, self.topics, self.item_ids))
        else:
            queue = build_queue(
                self.deck,
                self.store,
                self.clock(),
                day=self.day,
                new_per_day=self.new_per_day,
                topics=self.topics,
                learn_ahead=self.learn_ahead,
                item_ids=self.item_ids,
            )
            self._main.extend(queue.due + queue.new)
            self._learning.extend(sorted(queue.learning))

    # --- what the view reads ---

    @property
    def current(self) -> Item | None:
        """The card to show now, or None when the session is over."""
        if self._shown is None:
            self._show_next()
        return self.deck.by_id[self._shown.item_id] if self._shown else None

    @property
    def remaining(self) -> int:
        """Cards left, the current one included (a card may come back after Again)."""
        return len(self._main) + len(self._learning) + (self._shown is not None)

    @property
    def elapsed(self) -> timedelta:
        """How long the current card has been shown (multiple choice grades a slow answer Hard)."""
        return self.clock() - self._require_current().shown_at

    def previews(self) -> dict[Rating, Outcome]:
        """The four outcomes for the current card, as they will be saved."""
        return self._require_current().outcomes

    def summary(self) -> Summary:
        ratings = Counter(answer.outcome.rating for answer in self._history)
        return Summary(
            answered=len(self._history),
            ratings=dict(ratings),
            new_cards=sum(answer.shown.before is None for answer in self._history),
            time_spent=sum((answer.duration for answer in self._history), timedelta()),
            remaining=self.remaining,
            practice=self.cram,
        )

    # --- what the view does ---

    def answer(self, rating: Rating, duration: timedelta | None = None) -> Outcome:
        """Answer the current card; returns the outcome saved. Duration defaults to time shown."""
        shown = self._require_current()
        now = self.clock()
        duration = duration if duration is not None else max(timedelta(), now - shown.shown_at)
        outcome, review_id = shown.outcomes[Rating(rating)].at(now), None
        if not self.cram:
            outcome, review_id = self._save(shown, outcome, now, duration)
        requeued = self._requeue(shown.item_id, outcome, now)
        self._history.append(_Answered(shown, outcome, review_id, duration, requeued))
        self._shown = None
        return outcome

    def undo(self) -> Item | None:
        """Take back the last answer and show its card again; None if nothing to undo."""
        if not self._history:
            return None
        last = self._history.pop()
        if last.review_id is not None:
            try:
                self.store.undo(last.review_id)
            except CardChanged:
                self._history.append(last)
                raise UserError("cannot undo: that card was answered again in another window") from None
        if self._shown is not None and self._shown.item_id == last.shown.item_id:
            self._shown = None  # it had come straight back after Again: showing it again is the undo
        elif last.requeued:
            self._unqueue(last.shown.item_id, last.outcome)
        if self._shown is not None:
            self._put_back(self._shown)
            self._shown = None
        self._show(last.shown.item_id, last.shown.due)
        return self.deck.by_id[last.shown.item_id]

    def skip(self) -> None:
        """Drop the current card from this session unanswered (the learner has just suspended it)."""
        self._require_current()
        self._shown = None

    # --- internals ---

    def _require_current(self) -> _Shown:
        if self.current is None:
            raise UserError("the session is over: there is no card to answer")
        assert self._shown is not None
        return self._shown

    def _show_next(self) -> None:
        now = self.clock()
        if self._learning and (self._learning[0][0] <= now or not self._main):
            due, item_id = self._learning.pop(0)
            self._show(item_id, due)
        elif self._main:
            self._show(self._main.popleft(), None)

    def _show(self, item_id: str, due: datetime | None) -> None:
        now = self.clock()
        before = self.store.card(item_id)
        outcomes = _practice_outcomes() if self.cram else preview(self.fsrs, before or Card(card_id=0, due=now), now)
        self._shown = _Shown(item_id, now, before, outcomes, due)

    def _put_back(self, shown: _Shown) -> None:
        if shown.due is not None:
            bisect.insort(self._learning, (shown.due, shown.item_id))
        else:
            self._main.appendleft(shown.item_id)

    def _save(self, shown: _Shown, outcome: Outcome, now: datetime, duration: timedelta) -> tuple[Outcome, int]:
        before = shown.before
        duration_ms = duration // timedelta(milliseconds=1)
        while True:
            assert outcome.card is not None
            review = Review(shown.item_id, now, outcome.rating, duration_ms, before, outcome.card, self.mode)
            try:
                return outcome, self.store.record(review)
            except CardChanged:
                # Answered elsewhere since it was shown: apply this answer to that newer state.
                now = max(now, self.clock())
                before = shown.before = self.store.card(shown.item_id)
                fresh = before or Card(card_id=0, due=now)
                outcome = preview(self.fsrs, fresh, now)[outcome.rating]

    def _requeue(self, item_id: str, outcome: Outcome, now: datetime) -> bool:
        """Bring the card back in this session if it must be seen again soon."""
        if self.cram:
            if outcome.rating == Rating.Again:
                self._main.append(item_id)
                return True
            return False
        card = outcome.card
        assert card is not None
        if card.state in (State.Learning, State.Relearning) and card.due <= now + self.learn_ahead:
            bisect.insort(self._learning, (card.due, item_id))
            return True
        return False

    def _unqueue(self, item_id: str, outcome: Outcome) -> None:
        if self.cram:
            # the copy appended last, at the end of the queue
            index = len(self._main) - 1 - list(reversed(self._main)).index(item_id)
            del self._main[index]
        else:
            assert outcome.card is not None
            self._learning.remove((outcome.card.due, item_id))
