"""The deck: YAML files in, plain dataclasses out, with every problem reported by file and line.

A deck is a directory of YAML files (one topic each, in file-name order) or a single file.
A topic file looks like::

    topic: diffusion-basics          # stable topic id
    title: Diffusion basics
    demo: noise-corruption           # one of learnapp.demos.DEMOS
    description: ...                 # optional
    items:
      - id: dm-001                   # permanent: progress is keyed on it
        source: 1                    # number in the course question list (absent when added)
        question: ...
        answer: ...                  # may carry LaTeX math between $...$ (\\$ is a dollar sign)
        distractors:                 # 3 or more wrong answers for multiple choice, one line each
          - ...
        added: true                  # optional: a card that is not in the course's list
        source_answer: ...           # optional: the list's answer, when the deck's differs...
        why: ...                     # ...and then, in one line, why it differs
        notes: ...                   # optional: editorial decisions, extra context
        figure: noise-corruption/corruption_grid.png   # optional: demo output that shows it
        exercise: add-noise          # optional: the exercise (content/exercises/) that practises it
        tags: [schedules]            # optional

The `Item` and `Topic` dataclasses are the schema: each field's `Spec` (in its metadata) says
how it is written in YAML; the validator and the loader read them from there.

Nothing here imports Textual or torch: the quiz, the validator and the tests share it.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Literal

import yaml

from learnapp import formulas
from learnapp.demos import DEMOS
from learnapp.errors import UserError
from learnapp.exercises.catalog import exercise_names

ID_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]*$")
MIN_DISTRACTORS = 3
# An answer longer than this many times its longest distractor is picked for its length alone.
MAX_ANSWER_TO_DISTRACTOR = 2
MAX_FILE_BYTES = 1_000_000  # a topic of 100 cards is ~40 kB; beyond this it is not a topic file
MAX_DEPTH = 10  # a topic file nests 4 deep (topic, items, an item, its lists)
SHOWN_PLACES = 5  # places listed for a duplicate; the rest are counted
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


Kind = Literal["id", "text", "line", "lines", "words", "count", "flag", "name", "items"]


@dataclass(frozen=True)
class Spec:
    """How a field is written in a topic file.

    kind: "id" (lower-case id), "text" (any text), "line" (text on one line), "lines" (a list
    of one-line texts), "words" (a list of words), "count" (a whole number >= 1), "flag"
    (true/false), "name" (a reference, checked by its owner: demo, figure), "items".
    """

    kind: Kind
    required: bool = False
    key: str = ""  # the YAML key, when it is not the field's name


# kind -> the type its YAML value has, and the complaint when it has another (text kinds: check_text)
_TYPES: dict[Kind, tuple[type, str]] = {
    "id": (str, "must be text"),
    "name": (str, "must be text"),
    "count": (int, "must be a positive whole number"),
    "flag": (bool, "must be true or false"),
    "words": (list, "must be a list of words"),
    "items": (list, "must be a list"),
}


def _yaml(kind: Kind, required: bool = False, key: str = "") -> dict[str, Spec]:
    """A field's metadata: how a topic file writes it."""
    return {"yaml": Spec(kind, required, key)}


@dataclass(frozen=True, kw_only=True)
class Item:
    id: str = field(metadata=_yaml("id", required=True))
    # required unless `added`, which forbids it (checked in _Checker.check_item)
    source: int | None = field(default=None, metadata=_yaml("count"))
    added: bool = field(default=False, metadata=_yaml("flag"))
    question: str = field(metadata=_yaml("text", required=True))
    answer: str = field(metadata=_yaml("text", required=True))
    distractors: tuple[str, ...] = field(metadata=_yaml("lines", required=True))
    source_answer: str | None = field(default=None, metadata=_yaml("text"))  # together with `why`
    why: str | None = field(default=None, metadata=_yaml("line"))
    notes: str | None = field(default=None, metadata=_yaml("text"))
    figure: str | None = field(default=None, metadata=_yaml("name"))
    tags: tuple[str, ...] = field(default=(), metadata=_yaml("words"))
    exercise: str | None = field(default=None, metadata=_yaml("name"))
    topic: str  # derived: the id of the file's topic


@dataclass(frozen=True, kw_only=True)
class Topic:
    id: str = field(metadata=_yaml("id", required=True, key="topic"))
    title: str = field(metadata=_yaml("line", required=True))
    demo: str = field(metadata=_yaml("name", required=True))
    items: tuple[Item, ...] = field(metadata=_yaml("items", required=True))
    description: str = field(default="", metadata=_yaml("text"))


def yaml_fields(cls: type) -> dict[str, tuple[str, Spec]]:
    """YAML key -> (attribute, Spec) for the fields of `cls` that a topic file writes."""
    return {f.metadata["yaml"].key or f.name: (f.name, f.metadata["yaml"]) for f in fields(cls) if "yaml" in f.metadata}


_ITEM_FIELDS = yaml_fields(Item)
_TOPIC_FIELDS = yaml_fields(Topic)


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

    Skips the mojibake and formula checks, whose libraries (ftfy, matplotlib) would cost the
    quiz's start-up more than the whole load: garbled text or a formula shown as source does
    not stop a review, and `learnapp validate` and the tests still catch them.
    """
    path = path or default_deck_path()
    deck, problems = validate(path, thorough=False)
    if problems:
        raise DeckError(path, problems)
    assert deck is not None
    return deck


def validate(path: Path, thorough: bool = True) -> tuple[Deck | None, list[Problem]]:
    """Check a deck directory or file. Returns the deck (None if unusable) and all problems.

    `thorough=False` skips the checks that need a heavy library: mojibake and formulas.
    """
    path = Path(path)
    if path.is_dir():
        files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml"))
        if not files:
            return None, [Problem(str(path), 0, "no .yaml files in this directory")]
    elif path.exists():
        files = [path]  # a device or a pipe is reported by check_file, in one line
    else:
        return None, [Problem(str(path), 0, "no such file or directory")]

    checker = _Checker(thorough)
    for file in files:
        checker.check_file(file)
    checker.check_deck()
    checker.check_distractors()
    problems = sorted(set(checker.problems))
    return (Deck(tuple(checker.topics)) if not problems else None), problems


# --- the checks -------------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _normalise(text: str) -> str:
    """Text compared for sameness: case, spacing and punctuation ignored, but not the operators a
    formula turns on ($a + b$ and $a - b$ are different answers)."""
    return " ".join(re.sub(r"[^\w\s+\-*/=<>^]", " ", text.casefold()).split())


def _mojibake_fix(text: str) -> str | None:
    """The text as it was meant to read, if it is UTF-8 that was decoded as cp1252/latin-1."""
    if text.isascii():  # mojibake needs non-ASCII characters; skipping ftfy here speeds up a large deck
        return None
    import ftfy  # only the validator needs it

    fixed = ftfy.fix_encoding(text)
    return fixed if fixed != text else None


@dataclass
class _Fields:
    """What check_fields found in one mapping of a topic file."""

    values: dict[str, Any]  # attribute -> value, for the fields that passed their checks
    lines: dict[str, int]  # YAML key -> its line
    entries: dict[str, list[int]]  # YAML key of a list -> the line of each entry
    default_line: int  # the mapping's first line, for a missing key

    def line(self, key: str) -> int:
        return self.lines.get(key, self.default_line)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, (str, list)) and not value)


def _complete(values: dict[str, Any], schema: dict[str, tuple[str, Spec]]) -> bool:
    return all(name in values for name, spec in schema.values() if spec.required)


class _Checker:
    def __init__(self, thorough: bool) -> None:
        self.thorough = thorough
        self.problems: list[Problem] = []
        self.topics: list[Topic] = []
        self.exercises = exercise_names()
        # value -> places it was seen, for the deck-wide uniqueness checks
        self.seen: dict[str, dict[Any, list[tuple[str, int]]]] = {
            "item id": defaultdict(list),
            "source number": defaultdict(list),
            "question": defaultdict(list),
            "topic id": defaultdict(list),
        }
        # normalised answer -> (file, line, item id); and every distractor, for check_distractors
        self.answers: dict[str, list[tuple[str, int, str]]] = defaultdict(list)
        self.distractors: list[tuple[str, int, str, int, str]] = []  # file, line, item, number, normalised

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
                        self.report(file, _line(key), f"key '{key.value}' repeated (first on line {keys[key.value]})")
                    keys.setdefault(key.value, _line(key))
                self.check_duplicate_keys(file, value)
        elif isinstance(node, yaml.SequenceNode):
            for child in node.value:
                self.check_duplicate_keys(file, child)

    def check_fields(
        self, file: str, node: yaml.MappingNode, data: dict[Any, Any], schema: dict[str, tuple[str, Spec]], what: str
    ) -> _Fields:
        """Check required, unknown and typed fields and text hygiene; collect the values that pass."""
        value_nodes = {str(key.value): value for key, value in node.value}
        found = _Fields({}, {str(key.value): _line(key) for key, _ in node.value}, {}, _line(node))
        for key in data:
            if key not in schema:
                self.report(file, found.line(str(key)), f"{what}: unknown field '{key}'")
        for key, (name, spec) in schema.items():
            value = data.get(key)
            if _missing(value):
                if spec.required:
                    self.report(file, found.line(key), f"{what}: '{key}' is missing or empty")
                continue
            checked = self.check_value(file, found, what, key, spec.kind, value, value_nodes[key])
            if checked is not None:
                found.values[name] = checked
        return found

    def check_value(
        self, file: str, found: _Fields, what: str, key: str, kind: Kind, value: Any, node: yaml.Node
    ) -> Any:
        """The value as the dataclass holds it, or None once the reason it is unusable is reported."""
        line, label = found.line(key), f"{what}: '{key}'"
        if kind in ("text", "line"):
            return value if self.check_text(file, line, label, value, one_line=kind == "line") else None
        if kind == "lines":
            if not isinstance(value, list):
                self.report(file, line, f"{label} must be a list of one-line texts")
                return None
            lines = [_line(entry) for entry in node.value] if isinstance(node, yaml.SequenceNode) else []
            found.entries[key] = lines
            usable = [
                self.check_text(file, entry_line, f"{label} entry {number}", entry, one_line=True)
                for number, (entry, entry_line) in enumerate(zip(value, lines, strict=True), 1)
            ]
            return tuple(value) if all(usable) else None
        kind_type, rule = _TYPES[kind]
        valid = isinstance(value, kind_type)
        if kind == "count":
            valid = valid and not isinstance(value, bool) and value >= 1
        elif kind == "words":
            valid = valid and all(isinstance(word, str) and word.strip() for word in value)
        if not valid:
            self.report(file, line, f"{label} {rule}")
            return None
        if kind == "id" and not ID_PATTERN.match(value):
            self.report(file, line, f"{label} '{value}' must be lower-case a-z, 0-9, . _ -")
        return tuple(value) if kind == "words" else value

    def check_text(self, file: str, line: int, label: str, value: Any, one_line: bool) -> bool:
        """Report what is wrong with a text; False when it is not usable text at all."""
        if not isinstance(value, str):
            self.report(file, line, f"{label} must be text")
            return False
        if not value.strip():
            self.report(file, line, f"{label} is empty")
            return False
        if value != value.strip():
            self.report(file, line, f"{label} has leading or trailing whitespace")
        if one_line and "\n" in value:
            self.report(file, line, f"{label} must be one line")
        if self.thorough:
            fixed = _mojibake_fix(value)
            if fixed is not None:
                self.report(file, line, f"{label} has mojibake (should read: {fixed[:80]!r})")
            for problem in formulas.problems(value):
                self.report(file, line, f"{label} has a formula that does not parse: {problem}")
        return True

    def check_topic(self, file: str, node: yaml.MappingNode, data: dict[Any, Any]) -> None:
        found = self.check_fields(file, node, data, _TOPIC_FIELDS, "topic")
        topic_id = found.values.get("id")
        if topic_id is not None:
            self.seen["topic id"][topic_id].append((file, found.line("topic")))
        demo = found.values.get("demo")
        if demo is not None and demo not in DEMOS:
            self.report(file, found.line("demo"), f"unknown demo '{demo}' (known: {', '.join(DEMOS)})")
        raw_items = found.values.get("items")
        if raw_items is None:
            return  # missing, empty or not a list: reported
        items_node = {k.value: v for k, v in node.value}["items"]
        items = [
            item
            for item_node, raw in zip(items_node.value, raw_items, strict=True)
            if (item := self.check_item(file, item_node, raw, str(topic_id))) is not None
        ]
        if _complete(found.values, _TOPIC_FIELDS):
            self.topics.append(Topic(**{**found.values, "items": tuple(items)}))

    def check_item(self, file: str, node: yaml.Node, data: Any, topic: str) -> Item | None:
        if not isinstance(data, dict) or not isinstance(node, yaml.MappingNode):
            self.report(file, _line(node), "item: must be a mapping with id, source, question, answer, distractors")
            return None
        what = f"item {data.get('id', '?')}"
        found = self.check_fields(file, node, data, _ITEM_FIELDS, what)
        values = found.values
        item_id, question, answer = values.get("id"), values.get("question"), values.get("answer")
        if item_id is not None:
            self.seen["item id"][item_id].append((file, found.line("id")))
        self.check_source(file, found, what, data)
        if question is not None:
            self.seen["question"][_normalise(question)].append((file, found.line("question")))
            if answer is not None and _normalise(answer) == _normalise(question):
                self.report(file, found.line("answer"), f"{what}: the answer repeats the question")
        if answer is not None:
            self.answers[_normalise(answer)].append((file, found.line("answer"), str(item_id)))
        given = {key for key in ("source_answer", "why") if not _missing(data.get(key))}
        for key, needed in (("source_answer", "why"), ("why", "source_answer")):
            if key in given and needed not in given:
                message = f"'{key}' needs '{needed}': the source's answer and why the deck's differs go together"
                self.report(file, found.line(key), f"{what}: {message}")
        if "figure" in values:
            self.check_figure(file, found.line("figure"), item_id, values["figure"])
        if "exercise" in values and values["exercise"] not in self.exercises:
            self.report(
                file,
                found.line("exercise"),
                f"{what}: unknown exercise '{values['exercise']}' (known: {', '.join(sorted(self.exercises))})",
            )
        self.check_choices(file, found, what)
        return Item(topic=topic, **values) if _complete(values, _ITEM_FIELDS) else None

    def check_source(self, file: str, found: _Fields, what: str, data: dict[Any, Any]) -> None:
        """A card from the course's list names its number there; an added card has none."""
        if found.values.get("added"):
            if "source" in data:
                self.report(file, found.line("source"), f"{what}: an added card has no 'source' (it is in no list)")
        elif _missing(data.get("source")):
            self.report(file, found.line("source"), f"{what}: 'source' is missing or empty (or mark it 'added: true')")
        if "source" in found.values:
            self.seen["source number"][found.values["source"]].append((file, found.line("source")))

    def check_choices(self, file: str, found: _Fields, what: str) -> None:
        """Enough distinct distractors, and an answer not so long that it stands out among them."""
        distractors, answer = found.values.get("distractors"), found.values.get("answer")
        if distractors is None:
            return
        if len(distractors) < MIN_DISTRACTORS:
            self.report(
                file,
                found.line("distractors"),
                f"{what}: {len(distractors)} distractor(s); multiple choice needs at least {MIN_DISTRACTORS}",
            )
        first: dict[str, int] = {}
        for number, (text, line) in enumerate(zip(distractors, found.entries["distractors"], strict=True), 1):
            normalised = _normalise(text)
            if normalised in first:
                self.report(file, line, f"{what}: distractor {number} repeats distractor {first[normalised]}")
            first.setdefault(normalised, number)
            self.distractors.append((file, line, what, number, normalised))
        longest = max(len(text) for text in distractors)
        if answer is not None and len(answer) > MAX_ANSWER_TO_DISTRACTOR * longest:
            self.report(
                file,
                found.line("answer"),
                f"{what}: the answer ({len(answer)} characters) is more than {MAX_ANSWER_TO_DISTRACTOR}x as long as "
                f"its longest distractor ({longest}): its length gives it away",
            )

    def check_figure(self, file: str, line: int, item_id: Any, figure: Any) -> None:
        demo, _, name = str(figure).partition("/")
        if demo not in DEMOS:
            self.report(file, line, f"item {item_id}: figure '{figure}' must be <demo>/<file> with a known demo")
        elif name not in DEMOS[demo].outputs:
            known = ", ".join(DEMOS[demo].outputs)
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

    def check_distractors(self) -> None:
        """No distractor may be an answer in the deck: a learner who picks it would be marked wrong."""
        for file, line, what, number, normalised in self.distractors:
            answers = self.answers.get(normalised, [])
            if not answers:
                continue
            # once per distractor, however many items share that answer
            listed = ", ".join(f"{item_id} ({f}:{n})" for f, n, item_id in answers[:SHOWN_PLACES])
            more = f" and {len(answers) - SHOWN_PLACES} more" if len(answers) > SHOWN_PLACES else ""
            self.report(file, line, f"{what}: distractor {number} is the answer of item {listed}{more}")


def _refused_structure(text: str) -> tuple[int, str] | None:
    """(line, message) for the first anchor, alias or too-deep nesting in `text`, else None."""
    depth = 0
    for event in yaml.parse(text, Loader=_LOADER):
        line = event.start_mark.line + 1 if event.start_mark else 1
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
