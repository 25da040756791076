"""Progress in SQLite: the current state of every card, and an append-only review log.

The review log is the truth. Each row holds the item id, when it was answered, the rating,
how long the answer took, and the card's FSRS state before and after, so the `cards` table
can always be rebuilt from it (`Store.rebuild_cards`). Rows are only ever added, except
that undoing the last answer removes the row it wrote.

Reliability rules kept here:

- every answer is its own transaction, committed before `record` returns (WAL mode,
  `synchronous=FULL`), so a process killed right after answering keeps the answer;
- writes start with `BEGIN IMMEDIATE` and wait up to `busy_timeout` seconds for another
  process, so two windows answering at once lose nothing; `record` also refuses to
  overwrite a card that changed since it was shown (`CardChanged`), so each item's log
  stays a chain in which every "before" is the previous "after";
- items that left the deck (removed or renamed) keep their cards and log rows: nothing
  is ever deleted because the deck changed;
- a damaged or foreign file is never modified or replaced: opening it raises `UserError`
  naming the file and how to recover;
- `PRAGMA user_version` is the schema version; older files are copied to
  `<file>.v<N>.bak` and migrated in one transaction.

Times are stored as whole microseconds since the Unix epoch, UTC, so the datetimes FSRS
computes come back exactly (previews equal saved results, exports round-trip).

Public API (the UI reaches most of it through `srs.Session` and `stats`):

- `Store(path)` / `close()` / `with Store(path) as store:`; `default_path(data_dir_override)`;
- cards: `card(item_id)`, `counters(item_id)`, `due_reviews(before)`, `due_learning(before)`,
  `unseen(item_ids, limit)`, `new_cards_since(moment)`;
- the log: `record(review) -> id`, `undo(id)`, `reviews()`, `history(item_id)`, `answers(mode)`,
  `review_count()`, `merge_reviews(reviews)`, `missing_reviews(reviews)`, `rebuild_cards()`; each row
  has its `mode` (FLASHCARD or CHOICE);
- the learner's flags: `set_flags(item_id, now, flagged=, suspended=)`, `flags()`, `card_rows()`,
  `lapsed(at_least)`; suspended cards are left out of `due_reviews`, `due_learning`, `unseen`
  and the due counts;
- fitted FSRS parameters: `add_memory_model`, `memory_model()` (the one in use), `memory_models()`,
  `reset_memory_model()`;
- figures for `stats`: `card_summary`, `reviews_by_topic`, `ratings_between`, `retention_between`,
  `answers_between`, `days_with_reviews`, `due_between`, inside `with store.snapshot():` for one consistent view;
- exercises: `record_check`, `exercise_results`, `exercise_checks`, `hints_shown`, `set_hints_shown`;
- `Review` (one log row), `CardRow`, `MemoryModel`, `CardChanged`, `ReviewConflict`, `SCHEMA_VERSION`.
"""

from __future__ import annotations

import functools
import inspect
import itertools
import json
import os
import sqlite3
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

from fsrs import Card, Rating, State

from learnapp.errors import UserError
from learnapp.paths import data_dir

FILE_NAME = "progress.sqlite3"
APPLICATION_ID = 0x4C524E41  # "LRNA": tells our files from other SQLite databases
BUSY_TIMEOUT_S = 15.0

# Each step takes the schema from version N-1 to N. A fresh file runs them all.
MIGRATIONS: tuple[str, ...] = (
    # 1: cards and the review log
    f"""
    PRAGMA application_id = {APPLICATION_ID};
    CREATE TABLE cards (
        item_id     TEXT PRIMARY KEY,
        state       INTEGER NOT NULL CHECK (state IN (1, 2, 3)),
        step        INTEGER,
        stability   REAL,
        difficulty  REAL,
        due         INTEGER NOT NULL,
        last_review INTEGER
    );
    CREATE INDEX cards_due ON cards (due);
    CREATE TABLE revlog (
        id                 INTEGER PRIMARY KEY,
        item_id            TEXT NOT NULL,
        reviewed_at        INTEGER NOT NULL,
        rating             INTEGER NOT NULL CHECK (rating BETWEEN 1 AND 4),
        duration_ms        INTEGER,
        before_state       INTEGER,
        before_step        INTEGER,
        before_stability   REAL,
        before_difficulty  REAL,
        before_due         INTEGER,
        before_last_review INTEGER,
        after_state        INTEGER NOT NULL,
        after_step         INTEGER,
        after_stability    REAL,
        after_difficulty   REAL,
        after_due          INTEGER NOT NULL,
        after_last_review  INTEGER
    );
    CREATE INDEX revlog_item ON revlog (item_id, reviewed_at);
    """,
    # 2: answer and lapse counters (FSRS keeps none); indexes that answer the queue's and
    # the per-day figures' questions without reading the tables
    """
    DROP INDEX cards_due;
    CREATE INDEX cards_state_due ON cards (state, due, item_id);
    ALTER TABLE cards ADD COLUMN reps INTEGER NOT NULL DEFAULT 0;
    ALTER TABLE cards ADD COLUMN lapses INTEGER NOT NULL DEFAULT 0;
    UPDATE cards SET
        reps = (SELECT COUNT(*) FROM revlog r WHERE r.item_id = cards.item_id),
        lapses = (SELECT COUNT(*) FROM revlog r
                  WHERE r.item_id = cards.item_id AND r.rating = 1 AND r.before_state = 2);
    CREATE INDEX revlog_time ON revlog (reviewed_at);
    """,
    # 3: exercises: every check of a learner's file (append-only, like revlog), and how many of
    # each exercise's hints were shown
    """
    CREATE TABLE exercise_log (
        id          INTEGER PRIMARY KEY,
        exercise    TEXT NOT NULL,
        checked_at  INTEGER NOT NULL,
        passed      INTEGER NOT NULL CHECK (passed IN (0, 1)),
        duration_ms INTEGER,
        message     TEXT
    );
    CREATE INDEX exercise_log_exercise ON exercise_log (exercise, checked_at);
    CREATE TABLE exercise_hints (
        exercise TEXT PRIMARY KEY,
        shown    INTEGER NOT NULL CHECK (shown >= 0)
    );
    """,
    # 4: how each answer was given (only flashcards test recall: multiple choice is recognition,
    # kept out of parameter fitting and true retention; every older answer was a flashcard);
    # the learner's flags and suspensions, kept apart from `cards` so a rebuild keeps them;
    # FSRS parameters fitted to the learner's own log, with their figures, the one in use marked
    """
    ALTER TABLE revlog ADD COLUMN mode TEXT NOT NULL DEFAULT 'flashcard' CHECK (mode IN ('flashcard', 'choice'));
    CREATE TABLE card_flags (
        item_id    TEXT PRIMARY KEY,
        flagged    INTEGER NOT NULL DEFAULT 0 CHECK (flagged IN (0, 1)),
        suspended  INTEGER NOT NULL DEFAULT 0 CHECK (suspended IN (0, 1)),
        changed_at INTEGER NOT NULL
    );
    CREATE TABLE memory_models (
        id         INTEGER PRIMARY KEY,
        fitted_at  INTEGER NOT NULL,
        parameters TEXT NOT NULL,
        figures    TEXT NOT NULL,
        in_use     INTEGER NOT NULL DEFAULT 0 CHECK (in_use IN (0, 1))
    );
    CREATE INDEX revlog_due_reviews ON revlog (reviewed_at, rating, before_state, mode)
        WHERE before_state = 2 AND mode = 'flashcard';
    """,
)
SCHEMA_VERSION = len(MIGRATIONS)

_CARD_FIELDS = ("state", "step", "stability", "difficulty", "due", "last_review")
_BEFORE = ", ".join(f"before_{f}" for f in _CARD_FIELDS)
_AFTER = ", ".join(f"after_{f}" for f in _CARD_FIELDS)
_LOG_COLUMNS = f"item_id, reviewed_at, rating, duration_ms, {_BEFORE}, {_AFTER}, mode"
_LOG_PLACEHOLDERS = ", ".join("?" * (5 + 2 * len(_CARD_FIELDS)))
# Suspended cards are left out of the queue and of the due counts.
_NOT_SUSPENDED = "item_id NOT IN (SELECT item_id FROM card_flags WHERE suspended = 1)"
FLASHCARD, CHOICE = "flashcard", "choice"
MODES = (FLASHCARD, CHOICE)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_DAY_US = 86_400_000_000


def default_path(data_dir_override: str | Path | None = None) -> Path:
    """The progress database: <data dir>/progress.sqlite3 (see `learnapp.paths.data_dir`)."""
    return data_dir(data_dir_override) / FILE_NAME


def to_us(moment: datetime) -> int:
    """An aware datetime as whole microseconds since the epoch (exact, unlike float seconds)."""
    return (moment - _EPOCH) // _MICROSECOND


def from_us(value: int) -> datetime:
    return _EPOCH + timedelta(microseconds=value)


def _card_values(card: Card | None) -> tuple[Any, ...]:
    if card is None:
        return (None,) * len(_CARD_FIELDS)
    last = to_us(card.last_review) if card.last_review else None
    return (int(card.state), card.step, card.stability, card.difficulty, to_us(card.due), last)


def _card_from(values: Sequence[Any]) -> Card | None:
    state, step, stability, difficulty, due, last = values
    if state is None:
        return None
    # card_id is FSRS's own key, unused here: the item id is the key.
    return Card(
        card_id=0,
        state=State(state),
        step=step,
        stability=stability,
        difficulty=difficulty,
        due=from_us(due),
        last_review=from_us(last) if last is not None else None,
    )


@dataclass(frozen=True)
class Review:
    """One answer: the log row. `before` is None for an item's first review.

    `mode` is how it was answered: FLASHCARD (recall, rated by the learner) or CHOICE
    (multiple choice: recognition, graded by the app).
    """

    item_id: str
    reviewed_at: datetime
    rating: Rating
    duration_ms: int | None
    before: Card | None
    after: Card
    mode: str = FLASHCARD

    @property
    def is_lapse(self) -> bool:
        """A card in Review state that was forgotten (Anki's definition of a lapse)."""
        return self.rating == Rating.Again and self.before is not None and self.before.state == State.Review

    def _values(self) -> tuple[Any, ...]:
        return (
            self.item_id,
            to_us(self.reviewed_at),
            int(self.rating),
            self.duration_ms,
            *_card_values(self.before),
            *_card_values(self.after),
            self.mode,
        )

    @classmethod
    def _from_row(cls, row: Sequence[Any]) -> Review:
        n = len(_CARD_FIELDS)
        after = _card_from(row[4 + n : 4 + 2 * n])
        assert after is not None
        return cls(row[0], from_us(row[1]), Rating(row[2]), row[3], _card_from(row[4 : 4 + n]), after, row[4 + 2 * n])


@dataclass(frozen=True)
class CardRow:
    """What the card browser shows of a card: state and due time (None if never reviewed), flags."""

    state: State | None
    due: datetime | None
    lapses: int
    flagged: bool
    suspended: bool


@dataclass(frozen=True)
class MemoryModel:
    """FSRS parameters fitted to the learner's log (`learnapp.optimize`) and how they scored."""

    id: int
    fitted_at: datetime
    parameters: tuple[float, ...]
    figures: dict[str, Any]
    in_use: bool


class CardChanged(Exception):
    """The card's stored state is not the one the caller expected: another process answered it."""


class ReviewConflict(Exception):
    """An imported review has the same item and time as a stored one but different content."""

    def __init__(self, index: int) -> None:
        self.index = index
        super().__init__(f"review {index} conflicts with a stored review of the same item and time")


def _damaged(path: Path, exc: Exception) -> UserError:
    return UserError(
        f"{path} is not a learnapp progress database or is damaged ({exc}). It was left untouched. "
        f"To start afresh, move it away (mv '{path}' '{path}.damaged'); to restore progress "
        f"from an export made earlier, then run `learnapp progress --import BACKUP`."
    )


def _translate(path: Path, exc: sqlite3.Error) -> Exception:
    """SQLite's errors as messages a learner can act on."""
    message = str(exc).lower()
    if isinstance(exc, (sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.InterfaceError)):
        return exc  # a bug in learnapp, not a problem with the file
    if "locked" in message or "busy" in message:
        return UserError(f"{path} is busy: another learnapp has kept it locked too long; try again")
    if ("disk" in message and ("full" in message or "i/o" in message)) or "readonly" in message:
        return UserError(f"cannot write {path}: {exc}. Every answer committed before this one is kept.")
    if "unable to open" in message:
        if path.is_dir():
            return UserError(f"cannot open {path}: it is a folder, not a progress database")
        if not os.access(path.parent, os.W_OK):  # SQLite keeps its -wal and -shm files beside the database
            return UserError(
                f"cannot open {path}: its folder {path.parent} is read-only, and SQLite needs to write there"
            )
        return UserError(f"cannot open {path}: {exc}")
    return _damaged(path, exc)


_F = TypeVar("_F", bound=Callable[..., Any])


def _guarded(method: _F) -> _F:
    """Turn SQLite errors raised by a Store method into UserError (see `_translate`)."""
    if inspect.isgeneratorfunction(method):

        @functools.wraps(method)
        def generator(self: Store, *args: Any, **kwargs: Any) -> Any:
            try:
                yield from method(self, *args, **kwargs)
            except sqlite3.Error as exc:
                raise _translate(self.path, exc) from exc

        return generator  # type: ignore[return-value]

    @functools.wraps(method)
    def wrapper(self: Store, *args: Any, **kwargs: Any) -> Any:
        try:
            return method(self, *args, **kwargs)
        except sqlite3.Error as exc:
            raise _translate(self.path, exc) from exc

    return wrapper  # type: ignore[return-value]


class Store:
    """The progress database at `path` (created with its folder if missing).

    One Store per thread (sqlite3's rule). Several processes may open the same file.
    """

    @_guarded
    def __init__(self, path: str | Path, *, busy_timeout: float = BUSY_TIMEOUT_S) -> None:
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UserError(f"cannot create the folder of {self.path}: {exc.strerror or exc}") from None
        self._db = sqlite3.connect(self.path, timeout=busy_timeout, isolation_level=None)
        try:
            self._check_identity()
            self._db.execute("PRAGMA journal_mode = WAL")
            # An fsync per answer (~4 ms on the benchmark's disk): with NORMAL a power cut could
            # lose every answer since the last checkpoint, a whole session.
            self._db.execute("PRAGMA synchronous = FULL")
            self._migrate()
            self._ensure_pow()
            self._db.execute(
                "CREATE TEMP TABLE IF NOT EXISTS deck_items (item_id TEXT PRIMARY KEY, topic TEXT NOT NULL)"
            )
        except BaseException:
            self._db.close()
            raise

    @property
    def files(self) -> tuple[Path, ...]:
        """The database and the files SQLite keeps beside it: nothing may ever be written onto them."""
        return (self.path, *(self.path.with_name(self.path.name + end) for end in ("-wal", "-shm", "-journal")))

    def close(self) -> None:
        self._db.close()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # --- opening --------------------------------------------------------------------------

    def _pragma(self, name: str) -> int:
        return int(self._db.execute(f"PRAGMA {name}").fetchone()[0])

    def _check_identity(self) -> None:
        application_id, version = self._pragma("application_id"), self._pragma("user_version")
        has_tables = self._db.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] > 0
        if application_id != APPLICATION_ID and (application_id != 0 or has_tables or version):
            raise _damaged(self.path, ValueError("it was made by another program"))
        if version > SCHEMA_VERSION:
            raise UserError(
                f"{self.path} was written by a newer learnapp (schema {version}, this one knows "
                f"{SCHEMA_VERSION}); upgrade learnapp to use it. The file was left untouched."
            )

    def _migrate(self) -> None:
        version = self._pragma("user_version")
        if version == SCHEMA_VERSION:
            return
        if version > 0:
            self._backup(version)
        with self._writing():
            # Read again under the write lock: another process may have just migrated.
            version = self._pragma("user_version")
            for number in range(version + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[number - 1].split(";"):
                    if statement.strip():
                        self._db.execute(statement)
            self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def _backup(self, version: int) -> None:
        """Copy a file about to be migrated, so an upgrade can always be undone by hand."""
        target = self.path.with_name(f"{self.path.name}.v{version}.bak")
        number = 1
        while target.exists():
            number += 1
            target = self.path.with_name(f"{self.path.name}.v{version}.{number}.bak")
        # VACUUM INTO reads one consistent snapshot, WAL included (a file copy could miss it).
        self._db.execute("VACUUM INTO ?", (str(target),))

    def _ensure_pow(self) -> None:
        """Retrievability is computed in SQL; some SQLite builds lack the math functions."""
        try:
            self._db.execute("SELECT pow(2, 0.5)")
        except sqlite3.OperationalError:
            self._db.create_function("pow", 2, pow, deterministic=True)

    @contextmanager
    def _writing(self) -> Iterator[None]:
        """One write transaction; the lock is taken at once so concurrent writers queue up."""
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
            self._db.execute("COMMIT")
        except BaseException:
            if self._db.in_transaction:  # SQLite may have rolled back already (a full disk)
                self._db.execute("ROLLBACK")
            raise

    @contextmanager
    def snapshot(self) -> Iterator[None]:
        """Read several figures from one consistent state of the file."""
        self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._db.execute("COMMIT")

    # --- cards ----------------------------------------------------------------------------

    @_guarded
    def card(self, item_id: str) -> Card | None:
        """The item's current FSRS card, or None if it was never reviewed (a new card)."""
        row = self._db.execute(f"SELECT {', '.join(_CARD_FIELDS)} FROM cards WHERE item_id = ?", (item_id,)).fetchone()
        return _card_from(row) if row else None

    @_guarded
    def counters(self, item_id: str) -> tuple[int, int]:
        """(answers, lapses) of an item so far."""
        row = self._db.execute("SELECT reps, lapses FROM cards WHERE item_id = ?", (item_id,)).fetchone()
        return (row[0], row[1]) if row else (0, 0)

    @_guarded
    def due_reviews(self, before: datetime) -> list[str]:
        """Ids of cards in Review state due before `before`, most overdue first; none suspended."""
        rows = self._db.execute(
            f"SELECT item_id FROM cards WHERE state = 2 AND due < ? AND {_NOT_SUSPENDED} ORDER BY due, item_id",
            (to_us(before),),
        )
        return [item_id for (item_id,) in rows]

    @_guarded
    def due_learning(self, before: datetime) -> list[tuple[datetime, str]]:
        """(due, id) of cards in (re)learning steps due before `before`, earliest first; none suspended."""
        rows = self._db.execute(
            f"""SELECT due, item_id FROM cards WHERE state IN (1, 3) AND due < ? AND {_NOT_SUSPENDED}
                ORDER BY due, item_id""",
            (to_us(before),),
        )
        return [(from_us(due), item_id) for due, item_id in rows]

    @_guarded
    def unseen(self, item_ids: Sequence[str], limit: int) -> list[str]:
        """The first `limit` of `item_ids`, in their order, that were never reviewed nor suspended."""
        if limit <= 0:
            return []
        # One statement whatever the deck's size: SQLite walks the JSON array and probes cards.
        rows = self._db.execute(
            """SELECT value FROM json_each(?) WHERE value NOT IN (SELECT item_id FROM cards)
               AND value NOT IN (SELECT item_id FROM card_flags WHERE suspended = 1)
               ORDER BY key LIMIT ?""",
            (json.dumps(list(item_ids)), limit),
        )
        return [item_id for (item_id,) in rows]

    # --- the review log -------------------------------------------------------------------

    @_guarded
    def record(self, review: Review) -> int:
        """Append one answer and set the card to `review.after`, committed before returning.

        Raises CardChanged (and writes nothing) if the stored card is not `review.before`.
        Returns the log row's id, for `undo`.
        """
        with self._writing():
            self._expect(review.item_id, review.before)
            cursor = self._db.execute(
                f"INSERT INTO revlog ({_LOG_COLUMNS}) VALUES ({_LOG_PLACEHOLDERS})", review._values()
            )
            self._db.execute(
                f"""INSERT INTO cards (item_id, {", ".join(_CARD_FIELDS)}, reps, lapses)
                    VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?)
                    ON CONFLICT (item_id) DO UPDATE SET
                    {", ".join(f"{f} = excluded.{f}" for f in _CARD_FIELDS)},
                    reps = reps + 1, lapses = lapses + excluded.lapses""",
                (review.item_id, *_card_values(review.after), int(review.is_lapse)),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _expect(self, item_id: str, card: Card | None) -> None:
        row = self._db.execute(f"SELECT {', '.join(_CARD_FIELDS)} FROM cards WHERE item_id = ?", (item_id,)).fetchone()
        if (tuple(row) if row else _card_values(None)) != _card_values(card):
            raise CardChanged(item_id)

    @_guarded
    def undo(self, review_id: int) -> Review:
        """Remove log row `review_id` and put its card back as it was before that answer.

        Raises CardChanged if the card was answered again since (by another process), and
        KeyError if there is no such row.
        """
        with self._writing():
            row = self._db.execute(f"SELECT {_LOG_COLUMNS} FROM revlog WHERE id = ?", (review_id,)).fetchone()
            if row is None:
                raise KeyError(review_id)
            review = Review._from_row(row)
            self._expect(review.item_id, review.after)
            self._db.execute("DELETE FROM revlog WHERE id = ?", (review_id,))
            if review.before is None:
                self._db.execute("DELETE FROM cards WHERE item_id = ?", (review.item_id,))
            else:
                self._db.execute(
                    f"""UPDATE cards SET {", ".join(f"{f} = ?" for f in _CARD_FIELDS)},
                        reps = reps - 1, lapses = lapses - ? WHERE item_id = ?""",
                    (*_card_values(review.before), int(review.is_lapse), review.item_id),
                )
        return review

    @_guarded
    def reviews(self) -> Iterator[Review]:
        """Every logged answer, oldest first."""
        cursor = self._db.execute(f"SELECT {_LOG_COLUMNS} FROM revlog ORDER BY reviewed_at, id")
        for row in cursor:
            yield Review._from_row(row)

    @_guarded
    def history(self, item_id: str) -> list[Review]:
        """Every answer to one item, oldest first."""
        rows = self._db.execute(
            f"SELECT {_LOG_COLUMNS} FROM revlog WHERE item_id = ? ORDER BY reviewed_at, id", (item_id,)
        )
        return [Review._from_row(row) for row in rows]

    @_guarded
    def answers(self, mode: str) -> list[tuple[str, int, int]]:
        """(item id, time in µs, rating) of every answer given in `mode`, by item then time.

        The optimizer's input: three columns read as they are, fast for a long log.
        """
        return self._db.execute(
            "SELECT item_id, reviewed_at, rating FROM revlog WHERE mode = ? ORDER BY item_id, reviewed_at, id",
            (mode,),
        ).fetchall()

    @_guarded
    def review_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM revlog").fetchone()[0])

    @_guarded
    def new_cards_since(self, moment: datetime) -> int:
        """How many items had their first review at or after `moment` (for the daily new limit)."""
        return int(
            self._db.execute(
                "SELECT COUNT(*) FROM revlog WHERE reviewed_at >= ? AND before_state IS NULL", (to_us(moment),)
            ).fetchone()[0]
        )

    @_guarded
    def merge_reviews(self, reviews: Iterable[Review]) -> int:
        """Add reviews not stored yet, in one transaction, then rebuild the cards from the log.

        A review with the same item and time as a stored one is skipped if identical; if it
        differs, ReviewConflict is raised and nothing is written. Returns how many were added.
        """
        added = 0
        with self._writing():
            for index, review in enumerate(reviews):
                values = review._values()
                if self._is_new(values, index):
                    self._db.execute(f"INSERT INTO revlog ({_LOG_COLUMNS}) VALUES ({_LOG_PLACEHOLDERS})", values)
                    added += 1
            if added:
                self._rebuild_cards()
        return added

    @_guarded
    def missing_reviews(self, reviews: Iterable[Review]) -> Counter[str]:
        """Per item id, how many of `reviews` `merge_reviews` would add; reads only.

        Raises ReviewConflict where `merge_reviews` would.
        """
        missing: Counter[str] = Counter()
        with self.snapshot():
            for index, review in enumerate(reviews):
                if self._is_new(review._values(), index):
                    missing[review.item_id] += 1
        return missing

    def _is_new(self, values: tuple[Any, ...], index: int) -> bool:
        stored = self._db.execute(
            f"SELECT {_LOG_COLUMNS} FROM revlog WHERE item_id = ? AND reviewed_at = ?", values[:2]
        ).fetchall()
        if stored and tuple(stored[0]) != values:
            raise ReviewConflict(index)
        return not stored

    @_guarded
    def rebuild_cards(self) -> None:
        """Recompute the cards table from the log: each item takes its latest review's after-state."""
        with self._writing():
            self._rebuild_cards()

    def _rebuild_cards(self) -> None:
        self._db.execute("DELETE FROM cards")
        self._db.execute(
            f"""INSERT INTO cards (item_id, {", ".join(_CARD_FIELDS)}, reps, lapses)
                SELECT item_id, {_AFTER}, reps, lapses FROM (
                    SELECT *,
                        ROW_NUMBER() OVER (PARTITION BY item_id ORDER BY reviewed_at DESC, id DESC) AS age,
                        COUNT(*) OVER (PARTITION BY item_id) AS reps,
                        SUM(rating = 1 AND before_state IS 2) OVER (PARTITION BY item_id) AS lapses
                    FROM revlog)
                WHERE age = 1"""
        )

    # --- exercises ------------------------------------------------------------------------

    @_guarded
    def record_check(
        self, exercise: str, checked_at: datetime, passed: bool, duration_ms: int | None, message: str
    ) -> int:
        """Append one check of an exercise, committed before returning; returns its row id."""
        with self._writing():
            cursor = self._db.execute(
                "INSERT INTO exercise_log (exercise, checked_at, passed, duration_ms, message) VALUES (?, ?, ?, ?, ?)",
                (exercise, to_us(checked_at), int(passed), duration_ms, message),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @_guarded
    def exercise_results(self) -> dict[str, tuple[int, bool, bool]]:
        """Per checked exercise: (checks, ever passed, last check passed)."""
        rows = self._db.execute(
            """SELECT exercise, COUNT(*), MAX(passed),
                      (SELECT passed FROM exercise_log l WHERE l.exercise = e.exercise
                       ORDER BY checked_at DESC, id DESC LIMIT 1)
               FROM exercise_log e GROUP BY exercise"""
        )
        return {name: (count, bool(ever), bool(last)) for name, count, ever, last in rows}

    @_guarded
    def exercise_checks(self, exercise: str) -> list[tuple[datetime, bool, int | None, str]]:
        """Every check of one exercise, oldest first: (time, passed, duration_ms, message)."""
        rows = self._db.execute(
            "SELECT checked_at, passed, duration_ms, message FROM exercise_log WHERE exercise = ? "
            "ORDER BY checked_at, id",
            (exercise,),
        )
        return [(from_us(at), bool(passed), duration, message) for at, passed, duration, message in rows]

    @_guarded
    def hints_shown(self, exercise: str) -> int:
        row = self._db.execute("SELECT shown FROM exercise_hints WHERE exercise = ?", (exercise,)).fetchone()
        return row[0] if row else 0

    @_guarded
    def set_hints_shown(self, exercise: str, shown: int) -> None:
        with self._writing():
            self._db.execute(
                "INSERT INTO exercise_hints VALUES (?, ?) ON CONFLICT (exercise) DO UPDATE SET shown = excluded.shown",
                (exercise, shown),
            )

    # --- the learner's flags -----------------------------------------------------------------

    @_guarded
    def set_flags(
        self, item_id: str, now: datetime, *, flagged: bool | None = None, suspended: bool | None = None
    ) -> None:
        """Flag or unflag, suspend or unsuspend a card (None: leave as it is); committed at once."""
        with self._writing():
            self._db.execute(
                """INSERT INTO card_flags (item_id, flagged, suspended, changed_at)
                   VALUES (:item, coalesce(:flagged, 0), coalesce(:suspended, 0), :now)
                   ON CONFLICT (item_id) DO UPDATE SET
                   flagged = coalesce(:flagged, flagged), suspended = coalesce(:suspended, suspended),
                   changed_at = :now""",
                {"item": item_id, "flagged": flagged, "suspended": suspended, "now": to_us(now)},
            )

    @_guarded
    def flags(self) -> dict[str, tuple[bool, bool]]:
        """item id -> (flagged, suspended), for the cards that have either."""
        rows = self._db.execute("SELECT item_id, flagged, suspended FROM card_flags WHERE flagged = 1 OR suspended = 1")
        return {item_id: (bool(flagged), bool(suspended)) for item_id, flagged, suspended in rows}

    @_guarded
    def card_rows(self) -> dict[str, CardRow]:
        """The state, due time, lapses and flags of every card reviewed or flagged, in one read."""
        rows = self._db.execute(
            """SELECT c.item_id, c.state, c.due, c.lapses, coalesce(f.flagged, 0), coalesce(f.suspended, 0)
               FROM cards c LEFT JOIN card_flags f ON f.item_id = c.item_id
               UNION ALL
               SELECT item_id, NULL, NULL, 0, flagged, suspended FROM card_flags
               WHERE item_id NOT IN (SELECT item_id FROM cards)"""
        )
        return {
            item_id: CardRow(
                State(state) if state else None,
                from_us(due) if due is not None else None,
                lapses,
                bool(flagged),
                bool(suspended),
            )
            for item_id, state, due, lapses, flagged, suspended in rows
        }

    @_guarded
    def lapsed(self, at_least: int) -> list[tuple[str, int]]:
        """(item id, lapses) of the cards forgotten at least `at_least` times, most first."""
        rows = self._db.execute(
            "SELECT item_id, lapses FROM cards WHERE lapses >= ? ORDER BY lapses DESC, item_id", (at_least,)
        )
        return rows.fetchall()

    # --- the learner's memory model -------------------------------------------------------

    @_guarded
    def add_memory_model(
        self, fitted_at: datetime, parameters: Sequence[float], figures: Mapping[str, Any], in_use: bool
    ) -> int:
        """Record one fit; if `in_use`, the scheduler uses it from now on instead of any earlier one."""
        with self._writing():
            if in_use:
                self._db.execute("UPDATE memory_models SET in_use = 0")
            cursor = self._db.execute(
                "INSERT INTO memory_models (fitted_at, parameters, figures, in_use) VALUES (?, ?, ?, ?)",
                (to_us(fitted_at), json.dumps([float(p) for p in parameters]), json.dumps(dict(figures)), int(in_use)),
            )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    @_guarded
    def memory_model(self) -> MemoryModel | None:
        """The fit the scheduler uses, or None for FSRS's default parameters."""
        row = self._db.execute(
            "SELECT id, fitted_at, parameters, figures, in_use FROM memory_models WHERE in_use = 1"
        ).fetchone()
        return self._model(row) if row else None

    @_guarded
    def memory_models(self) -> list[MemoryModel]:
        """Every fit, kept or not, oldest first."""
        rows = self._db.execute("SELECT id, fitted_at, parameters, figures, in_use FROM memory_models ORDER BY id")
        return [self._model(row) for row in rows]

    @staticmethod
    def _model(row: Sequence[Any]) -> MemoryModel:
        id_, fitted_at, parameters, figures, in_use = row
        return MemoryModel(id_, from_us(fitted_at), tuple(json.loads(parameters)), json.loads(figures), bool(in_use))

    @_guarded
    def reset_memory_model(self) -> bool:
        """Back to FSRS's default parameters (the fits stay on record); False if they were in use already."""
        with self._writing():
            changed = self._db.execute("UPDATE memory_models SET in_use = 0 WHERE in_use = 1").rowcount
        return changed > 0

    # --- figures for stats.py -------------------------------------------------------------

    @_guarded
    def retention_between(self, bounds: Sequence[datetime]) -> list[tuple[int, int]]:
        """(recalled, reviews) in each interval [bounds[i], bounds[i+1]), counting the flashcard
        answers to cards in Review state (due reviews; learning steps and multiple choice left out).
        The partial index revlog_due_reviews holds exactly those rows."""
        result = []
        for start, end in itertools.pairwise(bounds):
            recalled, total = self._db.execute(
                """SELECT TOTAL(rating > 1), COUNT(*) FROM revlog
                   WHERE reviewed_at >= ? AND reviewed_at < ? AND before_state = 2 AND mode = 'flashcard'""",
                (to_us(start), to_us(end)),
            ).fetchone()
            result.append((int(recalled), total))
        return result

    def _load_deck(self, item_topic: Mapping[str, str]) -> None:
        """Put the deck's item -> topic map in a temporary table, for joins."""
        self._db.execute("DELETE FROM temp.deck_items")
        self._db.executemany("INSERT INTO temp.deck_items VALUES (?, ?)", item_topic.items())

    @_guarded
    def card_summary(
        self,
        item_topic: Mapping[str, str],
        now: datetime,
        due_before: datetime,
        mastered_stability: float,
        curve: tuple[float, float],
    ) -> dict[str | None, dict[str, float]]:
        """Per topic (None: items no longer in the deck): counts of reviewed cards.

        Keys: reviewed, learning, review, due (suspended cards left out), mastered,
        retrievability_sum. `curve` is FSRS's
        (factor, decay): retrievability = (1 + factor * elapsed_days / stability) ** decay,
        elapsed counted in whole days as FSRS does.
        """
        self._load_deck(item_topic)
        factor, decay = curve
        rows = self._db.execute(
            f"""SELECT d.topic, COUNT(*), SUM(c.state IN (1, 3)), SUM(c.state = 2),
                      SUM(c.due < :due AND c.{_NOT_SUSPENDED}),
                      SUM(c.state = 2 AND c.stability >= :mastered),
                      TOTAL(pow(1 + :factor * max(0, (:now - c.last_review) / :day) / c.stability, :decay))
               FROM cards c LEFT JOIN temp.deck_items d ON d.item_id = c.item_id
               GROUP BY d.topic""",
            {
                "due": to_us(due_before),
                "mastered": mastered_stability,
                "factor": factor,
                "decay": decay,
                "now": to_us(now),
                "day": _DAY_US,
            },
        )
        keys = ("reviewed", "learning", "review", "due", "mastered", "retrievability_sum")
        return {topic: dict(zip(keys, values, strict=True)) for topic, *values in rows}

    @_guarded
    def reviews_by_topic(self, item_topic: Mapping[str, str], since: datetime) -> dict[str | None, int]:
        """Answers given since `since`, per topic (None: items no longer in the deck)."""
        self._load_deck(item_topic)
        rows = self._db.execute(
            """SELECT d.topic, COUNT(*) FROM revlog r LEFT JOIN temp.deck_items d ON d.item_id = r.item_id
               WHERE r.reviewed_at >= ? GROUP BY d.topic""",
            (to_us(since),),
        )
        return dict(rows.fetchall())

    @_guarded
    def ratings_between(self, bounds: Sequence[datetime]) -> list[dict[Rating, int]]:
        """Answers per rating in each interval [bounds[i], bounds[i+1])."""
        result = []
        for start, end in itertools.pairwise(bounds):
            rows = self._db.execute(
                "SELECT rating, COUNT(*) FROM revlog WHERE reviewed_at >= ? AND reviewed_at < ? GROUP BY rating",
                (to_us(start), to_us(end)),
            )
            result.append({Rating(rating): count for rating, count in rows})
        return result

    @_guarded
    def answers_between(self, bounds: Sequence[datetime]) -> list[int]:
        """Answers in each interval [bounds[i], bounds[i+1]) (read from the time index alone)."""
        return [
            self._db.execute(
                "SELECT COUNT(*) FROM revlog WHERE reviewed_at >= ? AND reviewed_at < ?", (to_us(start), to_us(end))
            ).fetchone()[0]
            for start, end in itertools.pairwise(bounds)
        ]

    @_guarded
    def days_with_reviews(self, bounds: Sequence[datetime]) -> list[bool]:
        """Whether anything was answered in each interval [bounds[i], bounds[i+1])."""
        return [
            bool(
                self._db.execute(
                    "SELECT EXISTS (SELECT 1 FROM revlog WHERE reviewed_at >= ? AND reviewed_at < ?)",
                    (to_us(start), to_us(end)),
                ).fetchone()[0]
            )
            for start, end in itertools.pairwise(bounds)
        ]

    @_guarded
    def due_between(self, item_ids: Sequence[str], bounds: Sequence[datetime]) -> list[int]:
        """Cards among `item_ids` due in each interval [bounds[i], bounds[i+1]), suspended ones left out."""
        self._load_deck(dict.fromkeys(item_ids, ""))
        return [
            self._db.execute(
                f"""SELECT COUNT(*) FROM cards c JOIN temp.deck_items d ON d.item_id = c.item_id
                   WHERE c.state IN (1, 2, 3) AND c.due >= ? AND c.due < ? AND c.{_NOT_SUSPENDED}""",
                (to_us(start), to_us(end)),
            ).fetchone()[0]
            for start, end in itertools.pairwise(bounds)
        ]
