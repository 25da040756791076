"""The deck: YAML files in, plain dataclasses out, with every problem reported by file and line.

A deck is a directory of YAML files (one topic each, in file-name order) or a single file.
A topic file looks like::

    topic: diffusion-basics          # stable topic id
    title: Diffusion basics
    demo: noise-corruption           # one of learnapp.demos.DEMOS
    description: ...                 # optional
    items:
      - id: dm-001                   # permanent: progress is keyed on it
        source: 1                    # number in the course question list
        question: ...
        answer: ...
        notes: ...                   # optional: editorial decisions, extra context
        figure: noise-corruption/corruption_grid.png   # optional: demo output that shows it
        tags: [schedules]            # optional

Nothing here imports Textual or torch: the quiz, the validator and the tests share it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from learnapp.errors import UserError

from learnapp.demos import DEMOS

TOPIC_FIELDS = {"topic": True, "title": True, "demo": True, "description": False, "items": True}
ITEM_FIELDS = {
    "id": True,
    "source": True,
    "question": True,
    "answer": True,
    "notes": False,
    "figure": False,
    "tags": False,
}
TEXT_FIELDS = ("question", "answer", "notes", "title", "description")
ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MAX_FILE_BYTES = 1_000_000  # a topic of 100 cards is ~20 kB; beyond this it is not a topic file
MAX_DEPTH = 10  # a topic file nests 4 deep (topic, items, an item, its tags)
SHOWN_PLACES = 5  # places listed for a duplicate; the rest are counted
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True)
class Item:
    id: str
    source: int
    question: str
    answer: str
    topic: str
    notes: str | None = None
    figure: str | None = None
    tags: tuple[str, ...] = ()


@dataclass(frozen=True)
class Topic:
    id: str
    title: str
    demo: str
    items: tuple[Item, ...]
    description: str = ""


@dataclass(frozen=True)
class Deck:
    topics: tuple[Topic, ...]
    by_id: dict[str, Item] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_id", {i.id: i for t in self.topics for i in t.items})

    @property
    def items(self) -> list[Item]:
        return [item for topic in self.topics for item in topic.items]

    def topic(self, topic_id: str) -> Topic:
        for topic in self.topics:
            if topic.id == topic_id:
                return topic
        raise KeyError(topic_id)


@dataclass(frozen=True, order=True)
class Problem:
    file: str
    line: int
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.message}"


class DeckError(UserError):
    """The deck could not be loaded; `problems` lists every reason, the message only counts them."""

    def __init__(self, path: Path, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__(f"the deck at {path} has {len(problems)} problem(s); run `learnapp validate {path}`")


def default_deck_path() -> Path:
    """The deck shipped with the package (content/ in the repository)."""
    package = Path(__file__).resolve().parent
    installed, checkout = package / "deck", package.parent / "content"
    return installed if installed.is_dir() else checkout


def load_deck(path: Path | None = None) -> Deck:
    """Load and validate a deck; raise DeckError listing every problem.

    Skips the mojibake check, whose library costs a third of the quiz's start-up: garbled
    text does not stop a review, and `learnapp validate` and the tests still catch it.
    """
    path = path or default_deck_path()
    deck, problems = validate(path, check_encoding=False)
    if problems:
        raise DeckError(path, problems)
    assert deck is not None
    return deck


def validate(path: Path, check_encoding: bool = True) -> tuple[Deck | None, list[Problem]]:
    """Check a deck directory or file. Returns the deck (None if unusable) and all problems."""
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        if not files:
            return None, [Problem(str(path), 0, "no .yaml files in this directory")]
    elif path.exists():
        files = [path]  # a device or a pipe is reported by check_file, in one line
    else:
        return None, [Problem(str(path), 0, "no such file or directory")]

    checker = _Checker(check_encoding)
    for file in files:
        checker.check_file(file)
    checker.check_deck()
    problems = sorted(set(checker.problems))
    return (Deck(tuple(checker.topics)) if not problems else None), problems


# --- the checks -------------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _normalise(text: str) -> str:
    return " ".join(re.sub(r"[^\w\s]", " ", text.casefold()).split())


def _mojibake_fix(text: str) -> str | None:
    """The text as it was meant to read, if it is UTF-8 that was decoded as cp1252/latin-1."""
    if text.isascii():  # mojibake needs non-ASCII characters; skipping ftfy here speeds up a large deck
        return None
    import ftfy  # only the validator needs it

    fixed = ftfy.fix_encoding(text)
    return fixed if fixed != text else None


class _Checker:
    def __init__(self, check_encoding: bool) -> None:
        self.check_encoding = check_encoding
        self.problems: list[Problem] = []
        self.topics: list[Topic] = []
        # value -> places it was seen, for the deck-wide uniqueness checks
        self.seen: dict[str, dict[Any, list[tuple[str, int]]]] = {
            "item id": defaultdict(list),
            "source number": defaultdict(list),
            "question": defaultdict(list),
            "topic id": defaultdict(list),
        }

    def report(self, file: str, line: int, message: str) -> None:
        self.problems.append(Problem(file, line, message))

    def read(self, path: Path) -> str | None:
        """The text of a topic file, or None once its one problem is reported."""
        file = str(path)
        try:
            if not path.is_file():
                self.report(file, 0, "not a plain file (a folder or a device cannot be a topic file)")
                return None
            with path.open("rb") as stream:
                data = stream.read(MAX_FILE_BYTES + 1)  # never more, whatever stat said
        except OSError as exc:
            self.report(file, 0, f"cannot read: {exc.strerror or exc}")
            return None
        if len(data) > MAX_FILE_BYTES:
            self.report(file, 0, f"over {MAX_FILE_BYTES:,} bytes: too large for a topic file")
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError as exc:
            line = data.count(b"\n", 0, exc.start) + 1
            self.report(file, line, f"not UTF-8 text ({exc.reason} at byte {exc.start})")
            return None

    def check_file(self, path: Path) -> None:
        file = str(path)
        text = self.read(path)
        if text is None:
            return
        loader = None
        try:
            # Events first: anchors, aliases and deep nesting are refused before anything is
            # built from them (an alias bomb expands exponentially; a self-reference never ends).
            refused = _refused_structure(text)
            if refused is not None:
                self.report(file, *refused)
                return
            loader = _LOADER(text)
            node = loader.get_single_node()
            if node is not None:
                self.check_duplicate_keys(file, node)
            data = loader.construct_document(node) if node is not None else None
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark or exc.context_mark
            line = mark.line + 1 if mark else 1
            self.report(file, line, f"YAML syntax error: {exc.problem or exc}")
            return
        except yaml.reader.ReaderError as exc:  # a control character: no mark, a position in the text
            line = text.count("\n", 0, exc.position) + 1 if isinstance(exc.position, int) else 1
            character = f"#x{exc.character:04x}" if isinstance(exc.character, int) else repr(exc.character)
            self.report(file, line, f"YAML error: character {character} is not allowed: {exc.reason}")
            return
        except yaml.YAMLError as exc:
            self.report(file, 1, "YAML error: " + " ".join(str(exc).split()))
            return
        except (ValueError, OverflowError) as exc:  # PyYAML builds dates itself: `2001-13-45`
            self.report(file, 1, f"YAML value error: {exc}")
            return
        finally:
            if loader is not None:
                loader.dispose()
        if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
            self.report(file, 1, "a topic file must be a mapping with topic, title, demo and items")
            return
        self.check_topic(file, node, data)

    def check_duplicate_keys(self, file: str, node: yaml.Node) -> None:
        if isinstance(node, yaml.MappingNode):
            keys: dict[Any, int] = {}
            for key, value in node.value:
                if isinstance(key, yaml.ScalarNode):  # a list or mapping as a key is refused when built
                    if key.value in keys:
                        self.report(
                            file, _line(key), f"key '{key.value}' repeated (first on line {keys[key.value]})"
                        )
                    keys.setdefault(key.value, _line(key))
                self.check_duplicate_keys(file, value)
        elif isinstance(node, yaml.SequenceNode):
            for child in node.value:
                self.check_duplicate_keys(file, child)

    def check_fields(
        self, file: str, node: yaml.MappingNode, data: dict, spec: dict[str, bool], what: str
    ) -> dict[str, int]:
        """Check required/unknown fields and text hygiene; return each key's line."""
        lines = {str(k.value): _line(k) for k, _ in node.value}
        for name, required in spec.items():
            value = data.get(name)
            if required and (value is None or (isinstance(value, (str, list)) and not value)):
                where = lines.get(name, _line(node))
                self.report(file, where, f"{what}: '{name}' is missing or empty")
        for name in data:
            if name not in spec:
                self.report(file, lines.get(str(name), _line(node)), f"{what}: unknown field '{name}'")
        for name in TEXT_FIELDS:
            value = data.get(name)
            if name not in spec or value is None:
                continue
            if not isinstance(value, str):
                self.report(file, lines[name], f"{what}: '{name}' must be text")
                continue
            if value != value.strip():
                self.report(file, lines[name], f"{what}: '{name}' has leading or trailing whitespace")
            fixed = _mojibake_fix(value) if self.check_encoding else None
            if fixed is not None:
                self.report(
                    file, lines[name], f"{what}: '{name}' has mojibake (should read: {fixed[:80]!r})"
                )
        return lines

    def check_topic(self, file: str, node: yaml.MappingNode, data: dict) -> None:
        lines = self.check_fields(file, node, data, TOPIC_FIELDS, "topic")
        topic_id = data.get("topic")
        if isinstance(topic_id, str) and topic_id:
            self.seen["topic id"][topic_id].append((file, lines["topic"]))
            if not ID_PATTERN.match(topic_id):
                self.report(file, lines["topic"], f"topic id '{topic_id}' must be lower-case a-z, 0-9, . _ -")
        demo = data.get("demo")
        if demo is not None and (not isinstance(demo, str) or demo not in DEMOS):
            self.report(
                file, lines["demo"], f"unknown demo '{demo}' (known: {', '.join(DEMOS)})"
            )
        items_node = dict((k.value, v) for k, v in node.value).get("items")
        raw_items = data.get("items")
        if "items" in data and not isinstance(raw_items, list):
            self.report(file, lines["items"], "topic: 'items' must be a list")
            return
        if "items" in data and not raw_items:
            return  # reported as missing or empty
        items: list[Item] = []
        for item_node, raw in zip(items_node.value if items_node else [], raw_items or []):
            item = self.check_item(file, item_node, raw, str(topic_id))
            if item is not None:
                items.append(item)
        if isinstance(topic_id, str) and isinstance(data.get("title"), str) and isinstance(demo, str):
            self.topics.append(
                Topic(topic_id, data["title"], demo, tuple(items), data.get("description") or "")
            )

    def check_item(self, file: str, node: yaml.Node, data: Any, topic: str) -> Item | None:
        if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
            self.report(file, _line(node), "item: must be a mapping with id, source, question, answer")
            return None
        lines = self.check_fields(file, node, data, ITEM_FIELDS, f"item {data.get('id', '?')}")
        ok = True
        item_id, source = data.get("id"), data.get("source")
        question, answer = data.get("question"), data.get("answer")
        if isinstance(item_id, str) and item_id:
            self.seen["item id"][item_id].append((file, lines["id"]))
            if not ID_PATTERN.match(item_id):
                self.report(file, lines["id"], f"item id '{item_id}' must be lower-case a-z, 0-9, . _ -")
        elif "id" in data:
            self.report(file, lines["id"], "item: 'id' must be text")
            ok = False
        if isinstance(source, bool) or not isinstance(source, int) or source < 1:
            if "source" in data:
                self.report(file, lines["source"], f"item {item_id}: 'source' must be a positive whole number")
            ok = False
        else:
            self.seen["source number"][source].append((file, lines["source"]))
        if isinstance(question, str) and question.strip():
            self.seen["question"][_normalise(question)].append((file, lines["question"]))
            if isinstance(answer, str) and _normalise(answer) == _normalise(question):
                self.report(file, lines["answer"], f"item {item_id}: the answer repeats the question")
        figure = data.get("figure")
        if figure is not None:
            self.check_figure(file, lines["figure"], item_id, figure)
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags):
            self.report(file, lines.get("tags", _line(node)), f"item {item_id}: 'tags' must be a list of words")
            tags = []
        if not (ok and all(isinstance(v, str) and v.strip() for v in (item_id, question, answer))):
            return None
        return Item(
            item_id, source, question, answer, topic, data.get("notes"),
            figure if isinstance(figure, str) else None, tuple(tags),
        )

    def check_figure(self, file: str, line: int, item_id: Any, figure: Any) -> None:
        demo, _, name = str(figure).partition("/")
        if demo not in DEMOS:
            self.report(file, line, f"item {item_id}: figure '{figure}' must be <demo>/<file> with a known demo")
        elif name not in DEMOS[demo].figures:
            known = ", ".join(DEMOS[demo].figures)
            self.report(file, line, f"item {item_id}: demo '{demo}' writes no '{name}' (it writes {known})")

    def check_deck(self) -> None:
        """Each duplicated value once, at its first place, with a few of the others and a count."""
        for what, places in self.seen.items():
            for value, where in places.items():
                if len(where) < 2:
                    continue
                (file, line), others = where[0], where[1:]
                listed = ", ".join(f"{f}:{n}" for f, n in others[:SHOWN_PLACES])
                more = f" and {len(others) - SHOWN_PLACES} more" if len(others) > SHOWN_PLACES else ""
                shown = value if what != "question" else repr(value[:60])
                self.report(file, line, f"duplicate {what} {shown} (also at {listed}{more})")


def _refused_structure(text: str) -> tuple[int, str] | None:
    """(line, message) for the first anchor, alias or too-deep nesting in `text`, else None."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1
        anchor = getattr(event, "anchor", None)
        if anchor is not None:
            sign = "*" if isinstance(event, yaml.AliasEvent) else "&"
            return line, f"YAML {sign}{anchor}: anchors and aliases are not allowed in a deck; write the value out"
        if isinstance(event, yaml.CollectionStartEvent):
            depth += 1
            if depth > MAX_DEPTH:
                return line, f"nested more than {MAX_DEPTH} levels deep (a topic file needs 4)"
        elif isinstance(event, yaml.CollectionEndEvent):
            depth -= 1
    return None
