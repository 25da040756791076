"""Leeches: cards the learner keeps forgetting, and what to offer instead of another failure.

A lapse is an Again on a card in Review state (`Review.is_lapse`, counted in the store). A card
with `LEECH_LAPSES` lapses is a leech. Anki flags at 8, a figure made for big vocabulary decks
where a card is one isolated fact. Here it is 5, because:

- at the desired retention of 90% a card the learner understands lapses about once in ten
  reviews, i.e. once or twice in its first year; five lapses are far outside that;
- the deck is 140 technical cards that build on each other: a card failed again and again
  nearly always hides a concept that was never understood, and re-reading the answer does
  not fix that, while the topic's demo (and the card's figure) can;
- each lapse sends the card back to relearning; on a deck this small, eight rounds of that
  would spend weeks of one card's reviews before anything suggested a change.

A leech is only flagged, never suspended behind the learner's back: the review screen calls
`is_leech` and shows `remedy`; the learner may suspend it (`Store.set_flags`).

Public API: `LEECH_LAPSES`, `is_leech(store, item_id)`, `leeches(deck, store)`,
`remedy(deck, item_id)`.
"""

from __future__ import annotations

from dataclasses import dataclass

from learnapp.content import Deck
from learnapp.store import Store

LEECH_LAPSES = 5


@dataclass(frozen=True)
class Leech:
    item_id: str
    lapses: int
    topic: str | None  # None: the item is no longer in the deck
    question: str


@dataclass(frozen=True)
class Remedy:
    """What to offer for a leech: "understand before you memorise"."""

    item_id: str
    demo: str  # the topic's demo: `learnapp demo NAME`
    figure: str | None  # the card's figure, if it has one
    message: str


def is_leech(store: Store, item_id: str) -> bool:
    return store.counters(item_id)[1] >= LEECH_LAPSES


def leeches(deck: Deck, store: Store) -> list[Leech]:
    """Every leech, most lapses first (items gone from the deck too: their history is kept)."""
    result = []
    for item_id, lapses in store.lapsed(LEECH_LAPSES):
        item = deck.by_id.get(item_id)
        result.append(Leech(item_id, lapses, item.topic if item else None, item.question if item else ""))
    return result


def remedy(deck: Deck, item_id: str) -> Remedy:
    """The topic's demo and the card's figure, with a line that says why."""
    item = deck.by_id[item_id]
    topic = next(topic for topic in deck.topics if topic.id == item.topic)
    figure = f" and look at its figure ({item.figure})" if item.figure else ""
    message = (
        f"You have forgotten this card {LEECH_LAPSES} times or more: it is a leech. Reviewing it again "
        f"rarely helps; understand it first: run `learnapp demo {topic.demo}`{figure}, "
        "or suspend the card for now."
    )
    return Remedy(item_id, topic.demo, item.figure, message)
