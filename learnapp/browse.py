"""The card browser's search: find cards by words of their question, answer, tags or id,
forgiving typos, and filter them by topic, state, flag, leech and suspension.

`CardIndex(deck, store)` reads the deck and every card's state once (build it when the browser
opens, `refresh()` after an answer, a flag or a suspension), then `search(query, ...)` answers
from memory. It stays fast at 100,000 cards because it never reads each card's text per query:
only the deck's vocabulary (its distinct words) is scanned, and each word's cards are a bitset
(a Python int), so combining words and filters is a few integer operations.

Ranking, per query word: the word itself (1.0), a word it begins (0.8), a word it is inside of
(0.6), else the closest words by difflib's ratio (at least `FUZZY_CUTOFF`, scored ratio x 0.5);
an item id matches itself or its beginning ("dm-01"). Cards with every query word come first,
then by the sum of their words' scores, then in course order. Stdlib only.

Public API: `CardIndex`, `Matches` (the results: a sequence of `CardMatch`, made as they are
read), `STATES`, `state_name`, `history`.
"""

from __future__ import annotations

import bisect
import difflib
import itertools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import overload

from fsrs import Rating

from learnapp.content import Deck, Item
from learnapp.leeches import LEECH_LAPSES
from learnapp.store import CardRow, Store

STATES = ("new", "learning", "review", "relearning")
FUZZY_CUTOFF = 0.75
FUZZY_MATCHES = 4  # closest words kept per query word
_WORD = re.compile(r"[a-z0-9]+(?:[-_.][a-z0-9]+)*")
_SEPARATOR = re.compile(r"[-_.]")


def state_name(row: CardRow | None) -> str:
    return "new" if row is None or row.state is None else row.state.name.lower()


def _words(text: str) -> set[str]:
    """A text's words, lower case; hyphenated ones also by their parts ("u-net": "u", "net")."""
    words = set(_WORD.findall(text.lower()))
    return words | {part for word in words if not word.isalnum() for part in _SEPARATOR.split(word)}


def _mask(numbers: Iterable[int], size: int) -> int:
    """A bitset of `numbers` made in one go (OR-ing bit by bit into an int would copy it each time)."""
    bits = bytearray((size + 7) // 8)
    for number in numbers:
        bits[number >> 3] |= 1 << (number & 7)
    return int.from_bytes(bits, "little")


def _numbers(mask: int, limit: int) -> list[int]:
    """The positions of the first `limit` set bits of `mask`, lowest first."""
    bits = bin(mask)[:1:-1]  # lowest bit first, without "0b"
    found: list[int] = []
    position = bits.find("1")
    while position >= 0 and len(found) < limit:
        found.append(position)
        position = bits.find("1", position + 1)
    return found


@dataclass(frozen=True)
class CardMatch:
    """One search result: the item and its current state (`row` None for a card never touched)."""

    item: Item
    row: CardRow | None
    score: float

    @property
    def state(self) -> str:
        return state_name(self.row)

    @property
    def due(self) -> datetime | None:
        return self.row.due if self.row else None

    @property
    def leech(self) -> bool:
        return self.row is not None and self.row.lapses >= LEECH_LAPSES

    @property
    def flagged(self) -> bool:
        return self.row is not None and self.row.flagged

    @property
    def suspended(self) -> bool:
        return self.row is not None and self.row.suspended

    @property
    def marks(self) -> str:
        """F flagged, S suspended, L leech: the browsers' one-letter marks."""
        return "".join(mark for mark, on in (("F", self.flagged), ("S", self.suspended), ("L", self.leech)) if on)


class CardIndex:
    """Every card of `deck` with its words and its state in `store` (see the module docstring)."""

    def __init__(self, deck: Deck, store: Store) -> None:
        self.deck = deck
        self.store = store
        self.items = deck.items
        size = len(self.items)
        self._all = (1 << size) - 1
        postings: dict[str, list[int]] = {}
        topics: dict[str, list[int]] = {}
        for number, item in enumerate(self.items):
            topics.setdefault(item.topic, []).append(number)
            for word in _words(" ".join((item.topic, item.question, item.answer, *item.tags))):
                postings.setdefault(word, []).append(number)
        self._postings = {word: _mask(numbers, size) for word, numbers in postings.items()}
        self._topics = {topic: _mask(numbers, size) for topic, numbers in topics.items()}
        self._vocabulary = sorted(postings)
        self._by_length: dict[int, list[str]] = {}
        for word in self._vocabulary:
            self._by_length.setdefault(len(word), []).append(word)
        self._ids = sorted((item.id.lower(), number) for number, item in enumerate(self.items))
        self.refresh()

    def refresh(self) -> None:
        """Read the cards' states and flags again (after an answer, a flag or a suspension)."""
        self.rows = self.store.card_rows()
        members: dict[str, list[int]] = {name: [] for name in (*STATES, "flagged", "leech", "suspended")}
        for number, item in enumerate(self.items):
            row = self.rows.get(item.id)
            members[state_name(row)].append(number)
            if row is not None:
                for name, on in (
                    ("flagged", row.flagged),
                    ("leech", row.lapses >= LEECH_LAPSES),
                    ("suspended", row.suspended),
                ):
                    if on:
                        members[name].append(number)
        self._filters = {name: _mask(numbers, len(self.items)) for name, numbers in members.items()}

    def _levels(self, word: str) -> list[tuple[float, int]]:
        """(score, cards) for one query word, best first, each card at its best score only."""
        levels: list[tuple[float, int]] = []
        exact = self._postings.get(word, 0)
        start = bisect.bisect_left(self._ids, (word,))
        for item_id, number in itertools.islice(self._ids, start, None):
            if not item_id.startswith(word):
                break
            exact |= 1 << number  # an item id, or the beginning of one
        levels.append((1.0, exact))
        prefix = substring = 0
        start = bisect.bisect_right(self._vocabulary, word)
        for found in itertools.islice(self._vocabulary, start, None):
            if not found.startswith(word):
                break
            prefix |= self._postings[found]
        levels.append((0.8, prefix))
        for found in self._vocabulary:
            if word in found and not found.startswith(word):
                substring |= self._postings[found]
        levels.append((0.6, substring))
        if len(word) >= 3:
            matcher = difflib.SequenceMatcher(b=word, autojunk=False)
            close = []
            for size in range(len(word) - 2, len(word) + 3):
                for candidate in self._by_length.get(size, ()):
                    matcher.set_seq1(candidate)
                    if matcher.real_quick_ratio() >= FUZZY_CUTOFF and matcher.quick_ratio() >= FUZZY_CUTOFF:
                        ratio = matcher.ratio()
                        if ratio >= FUZZY_CUTOFF and candidate != word:
                            close.append((ratio, candidate))
            for ratio, candidate in sorted(close, reverse=True)[:FUZZY_MATCHES]:
                levels.append((0.5 * ratio, self._postings[candidate]))
        seen, disjoint = 0, []
        for score, cards in levels:
            cards &= ~seen
            if cards:
                disjoint.append((score, cards))
                seen |= cards
        return disjoint

    def search(
        self,
        query: str = "",
        *,
        topic: str | None = None,
        state: str | None = None,
        flagged: bool = False,
        leech: bool = False,
        suspended: bool = False,
    ) -> Matches:
        """Cards matching `query` (all cards if it is empty) and every filter given, best first."""
        if state is not None and state not in STATES:
            raise ValueError(f"unknown state {state!r} (known: {', '.join(STATES)})")
        wanted = self._all
        if topic is not None:
            wanted &= self._topics.get(topic, 0)
        for name, on in ((state, state is not None), ("flagged", flagged), ("leech", leech), ("suspended", suspended)):
            if on:
                wanted &= self._filters[str(name)]
        words = sorted(set(_WORD.findall(query.lower())))
        groups: list[tuple[tuple[int, float], int]] = []
        if not words:
            groups.append(((0, 0.0), wanted))
        else:
            options = []
            for word in words:
                levels = self._levels(word)
                found = 0
                for _, cards in levels:
                    found |= cards
                options.append([(1, score, cards) for score, cards in levels] + [(0, 0.0, self._all & ~found)])
            # Each combination of one level per word is a group of cards with the same score.
            for combination in itertools.product(*options):
                present = sum(option[0] for option in combination)
                if not present:
                    continue
                cards = wanted
                for _, _, level in combination:
                    cards &= level
                    if not cards:
                        break
                if cards:
                    groups.append(((-present, -sum(option[1] for option in combination)), cards))
            groups.sort(key=lambda group: group[0])
        return Matches(self, [(-negative_score or 0.0, cards) for (_, negative_score), cards in groups])


class Matches(Sequence[CardMatch]):
    """Search results, best first. Counting them is cheap; a group of equally ranked cards is
    turned into card numbers only as far as it is read, and a CardMatch made for each result
    read (a browser reads a page of them)."""

    def __init__(self, index: CardIndex, groups: list[tuple[float, int]]) -> None:
        self._index = index
        self._groups = groups
        self._ends = list(itertools.accumulate(cards.bit_count() for _, cards in groups))
        self._read: dict[int, list[int]] = {}

    def __len__(self) -> int:
        return self._ends[-1] if self._ends else 0

    @overload
    def __getitem__(self, position: int) -> CardMatch: ...

    @overload
    def __getitem__(self, position: slice) -> list[CardMatch]: ...

    def __getitem__(self, position: int | slice) -> CardMatch | list[CardMatch]:
        if isinstance(position, slice):
            return [self[n] for n in range(*position.indices(len(self)))]
        if position < 0:
            position += len(self)
        if not 0 <= position < len(self):
            raise IndexError(position)
        group = bisect.bisect_right(self._ends, position)
        offset = position - (self._ends[group - 1] if group else 0)
        numbers = self._read.get(group, [])
        if offset >= len(numbers):
            numbers = self._read[group] = _numbers(self._groups[group][1], max(64, 2 * offset + 1))
        item = self._index.items[numbers[offset]]
        return CardMatch(item, self._index.rows.get(item.id), self._groups[group][0])


@dataclass(frozen=True)
class HistoryEntry:
    """One answer to a card, as the browser lists it."""

    reviewed_at: datetime
    mode: str
    rating: Rating
    interval: timedelta  # from the answer to the next due time it set
    state_after: str


def history(store: Store, item_id: str) -> list[HistoryEntry]:
    """The card's whole history, oldest first."""
    return [
        HistoryEntry(r.reviewed_at, r.mode, r.rating, r.after.due - r.reviewed_at, r.after.state.name.lower())
        for r in store.history(item_id)
    ]
