"""Backups of the review log as JSON Lines: export, and import that is all or nothing.

The first line names the format, each further line is one answer, oldest first:

    {"format": "learnapp-review-log", "version": 2}
    {"item": "dm-001", "reviewed_at": "2025-03-30T19:00:00.000000+00:00", "rating": 3,
     "duration_ms": 5200, "before": null, "after": CARD, "mode": "flashcard"}

where CARD is {"state": 1-3, "step", "stability", "difficulty", "due", "last_review"} as
FSRS defines them, times in ISO 8601 UTC with microseconds, and "mode" is how the answer
was given ("flashcard" or "choice"). Version 1 exports, written before answers had a mode,
still import: their answers were all flashcards. Floats are written with
Python's shortest exact repr, so export -> import -> export gives the same bytes.

Export never writes onto the store, nor over an existing file unless forced (`outfile`).
Import checks the whole file before writing anything, then adds every review the store
lacks in one transaction and rebuilds card states from the log (`Store.merge_reviews`).
Reviews already stored are skipped, so importing a backup twice changes nothing; a
malformed file, a review that contradicts a stored one, or (unless allowed) reviews of
items the deck does not have, are refused whole: the append-only log cannot take them back.

Public API: `export_log(store, path, force=False) -> int`,
`import_log(store, path, known_ids, allow_unknown=False) -> (added, skipped)`,
`plan_import(store, path, known_ids) -> ImportPlan` (what an import would add, for --dry-run),
`check_log(path) -> int` (how many reviews a valid export holds).
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Collection, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fsrs import Card, Rating, State

from learnapp.errors import UserError
from learnapp.outfile import replacing
from learnapp.store import FLASHCARD, MODES, Review, ReviewConflict, Store

FORMAT = "learnapp-review-log"
VERSION = 2
READABLE = (1, 2)
HEADER = {"format": FORMAT, "version": VERSION}
CARD_KEYS = ("state", "step", "stability", "difficulty", "due", "last_review")
REVIEW_KEYS_V1 = ("item", "reviewed_at", "rating", "duration_ms", "before", "after")
REVIEW_KEYS = (*REVIEW_KEYS_V1, "mode")
MAX_LINE = 65_536  # a review line is ~400 characters: a longer one is not an export, and is never read whole
SHOWN_IDS = 5  # unknown ids named in a message


def _time(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def _card(card: Card | None) -> dict[str, Any] | None:
    if card is None:
        return None
    return {
        "state": int(card.state),
        "step": card.step,
        "stability": card.stability,
        "difficulty": card.difficulty,
        "due": _time(card.due),
        "last_review": _time(card.last_review) if card.last_review else None,
    }


def _line(review: Review) -> str:
    record = {
        "item": review.item_id,
        "reviewed_at": _time(review.reviewed_at),
        "rating": int(review.rating),
        "duration_ms": review.duration_ms,
        "before": _card(review.before),
        "after": _card(review.after),
        "mode": review.mode,
    }
    return json.dumps(record, ensure_ascii=False, allow_nan=False)


def export_log(store: Store, path: Path, *, force: bool = False) -> int:
    """Write every review to `path` and return how many (see `outfile.replacing` for the rules:
    never onto the store, over an existing file only with `force`, whole or not at all)."""
    count = 0
    with replacing(Path(path), force=force, protected=store.files) as out:
        out.write((json.dumps(HEADER) + "\n").encode())
        for review in store.reviews():
            out.write((_line(review) + "\n").encode())
            count += 1
    return count


# --- reading ------------------------------------------------------------------------------


class _Bad(ValueError):
    """One problem with one line of an import file."""


def _require_keys(value: Any, keys: tuple[str, ...], what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise _Bad(f"{what} must be an object")
    missing = [k for k in keys if k not in value]
    unknown = [k for k in value if k not in keys]
    if missing or unknown:
        raise _Bad(
            f"{what}: "
            + "; ".join(
                part
                for part in (
                    f"missing {', '.join(missing)}" if missing else "",
                    f"unknown {', '.join(unknown)}" if unknown else "",
                )
                if part
            )
        )
    return value


def _parse_time(value: Any, what: str) -> datetime:
    if not isinstance(value, str):
        raise _Bad(f"{what} must be an ISO 8601 time")
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise _Bad(f"{what} is not an ISO 8601 time: {value!r}") from None
    if moment.tzinfo is None:
        raise _Bad(f"{what} has no time zone: {value!r}")
    return moment.astimezone(UTC)


def _parse_optional_int(value: Any, what: str, low: int) -> int | None:
    return None if value is None else _parse_int(value, what, low)


def _parse_int(value: Any, what: str, low: int, high: float = math.inf) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _Bad(f"{what} must be a whole number from {low}" + (f" to {high}" if high < math.inf else " up"))
    return value


def _parse_positive(value: Any, what: str) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise _Bad(f"{what} must be a positive number or null")
    return float(value)


def _parse_card(value: Any, what: str) -> Card:
    data = _require_keys(value, CARD_KEYS, what)
    return Card(
        card_id=0,
        state=State(_parse_int(data["state"], f"{what}.state", 1, 3)),
        step=_parse_optional_int(data["step"], f"{what}.step", 0),
        stability=_parse_positive(data["stability"], f"{what}.stability"),
        difficulty=_parse_positive(data["difficulty"], f"{what}.difficulty"),
        due=_parse_time(data["due"], f"{what}.due"),
        last_review=_parse_time(data["last_review"], f"{what}.last_review")
        if data["last_review"] is not None
        else None,
    )


def _parse_review(text: str, version: int) -> Review:
    try:
        value = json.loads(text)
    except json.JSONDecodeError as exc:
        raise _Bad(f"not JSON ({exc.msg})") from None
    data = _require_keys(value, REVIEW_KEYS if version >= 2 else REVIEW_KEYS_V1, "review")
    item = data["item"]
    if not isinstance(item, str) or not item.strip():
        raise _Bad("item must be a non-empty item id")
    mode = data.get("mode", FLASHCARD)
    if mode not in MODES:
        raise _Bad(f"mode must be one of {', '.join(MODES)}")
    return Review(
        item_id=item,
        reviewed_at=_parse_time(data["reviewed_at"], "reviewed_at"),
        rating=Rating(_parse_int(data["rating"], "rating", 1, 4)),
        duration_ms=_parse_optional_int(data["duration_ms"], "duration_ms", 0),
        before=_parse_card(data["before"], "before") if data["before"] is not None else None,
        after=_parse_card(data["after"], "after"),
        mode=mode,
    )


def _lines(path: Path) -> Iterator[tuple[int, int, str]]:
    """(format version, line number, text) of an export's review lines, read as they are needed;
    UserError if it is none."""
    path = Path(path)
    if path.exists() and not path.is_file():  # a folder, or a pipe or device that could block or never end
        raise UserError(f"cannot read {path}: it is not a plain file")
    try:
        with path.open(encoding="utf-8") as lines:
            try:
                header = json.loads(lines.readline(MAX_LINE))
            except json.JSONDecodeError:
                header = None
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise UserError(f"{path} is not a learnapp export (its first line must be {json.dumps(HEADER)})")
            version = header.get("version")
            if version not in READABLE:
                readable = " and ".join(map(str, READABLE))
                raise UserError(f"{path} is export version {version!r}; this learnapp reads {readable}")
            number = 1
            while text := lines.readline(MAX_LINE + 1):
                number += 1
                if len(text) > MAX_LINE:
                    raise UserError(f"{path} refused, nothing imported: line {number} is over {MAX_LINE} characters")
                if text.strip():
                    yield version, number, text
    except UnicodeDecodeError:
        raise UserError(f"{path} is not a learnapp export: it is not UTF-8 text") from None
    except OSError as exc:
        raise UserError(f"cannot read {path}: {exc.strerror or exc}") from None


def check_log(path: Path) -> int:
    """Check every line of an export; return how many reviews it holds, or raise UserError."""
    count, bad, first = 0, 0, ""
    for version, number, text in _lines(path):
        try:
            _parse_review(text, version)
            count += 1
        except _Bad as exc:
            bad += 1
            first = first or f"line {number}: {exc}"
    if bad:
        raise UserError(f"{path} refused, nothing imported: {bad} bad line(s); first, {first}")
    return count


@dataclass(frozen=True)
class ImportPlan:
    """What importing an export adds: per item id, the reviews the store lacks."""

    path: Path
    new: Counter[str]
    already: int
    unknown: tuple[str, ...]  # ids among `new` that the deck lacks, sorted

    @property
    def unknown_count(self) -> int:
        return sum(self.new[item] for item in self.unknown)

    @property
    def known_count(self) -> int:
        return sum(self.new.values()) - self.unknown_count

    def describe(self) -> str:
        unknown = ", ".join(f"{item}: {self.new[item]}" for item in self.unknown[:SHOWN_IDS])
        more = f" and {len(self.unknown) - SHOWN_IDS} more" if len(self.unknown) > SHOWN_IDS else ""
        return (
            f"would add {self.known_count} review(s) of {len(self.new) - len(self.unknown)} item(s) in the deck "
            f"and {self.unknown_count} review(s) of {len(self.unknown)} item(s) not in it"
            + (f" ({unknown}{more})" if unknown else "")
            + f"; {self.already} already there"
        )

    def refusal(self) -> UserError:
        shown = ", ".join(self.unknown[:SHOWN_IDS]) + (", ..." if len(self.unknown) > SHOWN_IDS else "")
        return UserError(
            f"{self.path} refused, nothing imported: {self.unknown_count} review(s) name {len(self.unknown)} "
            f"item id(s) the deck does not have ({shown}); add --allow-unknown-ids to import them anyway, "
            f"or --dry-run to see what would be added"
        )


def _reviews(path: Path, where: list[int]) -> Iterator[Review]:
    """The reviews of an already checked export; `where[0]` follows the line being read."""
    for version, where[0], text in _lines(path):
        yield _parse_review(text, version)


@contextmanager
def _reading(path: Path, where: list[int]) -> Iterator[None]:
    """The errors of a pass over a checked export, as the learner's one line."""
    try:
        yield
    except ReviewConflict:
        raise UserError(
            f"{path} refused, nothing imported: line {where[0]} contradicts a stored "
            f"review of the same item at the same time"
        ) from None
    except _Bad:
        raise UserError(f"{path} changed while it was being imported; nothing imported") from None


def plan_import(store: Store, path: Path, known_ids: Collection[str] | None = None) -> ImportPlan:
    """Check export `path` whole and say what importing it would add; changes nothing.

    `known_ids`: the deck's item ids; reviews of other ids are listed as unknown (None: no check).
    """
    path = Path(path)
    total = check_log(path)
    where = [0]
    with _reading(path, where):
        new = store.missing_reviews(_reviews(path, where))
    unknown = tuple(sorted(item for item in new if known_ids is not None and item not in known_ids))
    return ImportPlan(path, new, total - sum(new.values()), unknown)


def import_log(
    store: Store, path: Path, known_ids: Collection[str] | None = None, *, allow_unknown: bool = False
) -> tuple[int, int]:
    """Add the reviews of export `path` that `store` lacks; return (added, already there).

    Reviews of ids not in `known_ids` refuse the whole file unless `allow_unknown`. The file
    is read in passes, so a large export never sits in memory: a check of every line, a
    read-only comparison with the store, then one transaction that any problem rolls back.
    """
    plan = plan_import(store, path, known_ids)
    if plan.unknown and not allow_unknown:
        raise plan.refusal()
    where = [0]
    with _reading(plan.path, where):
        added = store.merge_reviews(_reviews(plan.path, where))
    return added, plan.already + sum(plan.new.values()) - added
