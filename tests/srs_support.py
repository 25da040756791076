"""Shared by the scheduling, store and progress tests: a settable clock, a small deck, and
a dump of a progress file read with plain sqlite3 (independent of the Store under test)."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from learnapp.content import Deck, Item, Topic


class FakeClock:
    """A clock the test moves by hand."""

    def __init__(self, start: datetime):
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def distractors(item_id: str, count: int = 4) -> tuple[str, ...]:
    """Wrong answers for `item_id`, distinct from each other and from every answer of small_deck."""
    return tuple(f"Wrong answer {n} to {item_id}." for n in range(1, count + 1))


def small_deck(sizes: dict[str, int] | None = None) -> Deck:
    """Topics t1, t2 (or as given), items '<topic>-NNN' with distinct answers."""
    sizes = sizes or {"t1": 6, "t2": 4}
    topics = []
    source = 0
    for topic_id, size in sizes.items():
        items = []
        for n in range(1, size + 1):
            source += 1
            item_id = f"{topic_id}-{n:03d}"
            items.append(
                Item(
                    id=item_id,
                    source=source,
                    topic=topic_id,
                    question=f"Question {n} of {topic_id}?",
                    answer=f"Answer {n} of {topic_id}.",
                    distractors=distractors(item_id),
                )
            )
        topics.append(Topic(id=topic_id, title=f"Topic {topic_id}", demo="noise-corruption", items=tuple(items)))
    return Deck(tuple(topics))


def dump(path: Path) -> tuple[list[tuple], list[tuple]]:
    """Every row of cards and revlog, in a fixed order."""
    db = sqlite3.connect(path)
    try:
        cards = db.execute("SELECT * FROM cards ORDER BY item_id").fetchall()
        log = db.execute("SELECT * FROM revlog ORDER BY id").fetchall()
    finally:
        db.close()
    return cards, log
