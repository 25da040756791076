"""The shipped deck, and the validator against broken decks written here."""

import re
from pathlib import Path

import pytest

from learnapp.content import DeckError, default_deck_path, load_deck, validate
from learnapp.demos import DEMOS
from learnapp.exercises.catalog import exercise_names

COURSE_TOPIC_ORDER = [
    "diffusion-basics",
    "diffusers-library",
    "from-scratch",
    "fine-tuning-guidance",
    "class-conditioning",
    "stable-diffusion",
    "going-further",
    "ddim-inversion",
    "audio",
]


@pytest.fixture(scope="module")
def deck():
    return load_deck()


# --- the shipped deck ------------------------------------------------------------------------


def test_shipped_deck_has_no_problems():
    _, problems = validate(default_deck_path())
    assert problems == []


def test_exactly_140_source_items_numbered_1_to_140(deck):
    from_source = [item for item in deck.items if not item.added]
    assert len(from_source) == 140
    assert sorted(item.source for item in from_source) == list(range(1, 141))


def test_topics_follow_the_course_order_and_source_numbering(deck):
    assert [t.id for t in deck.topics] == COURSE_TOPIC_ORDER
    sources = [item.source for item in deck.items if not item.added]
    assert sources == sorted(sources)


def test_every_topic_links_a_known_demo_and_every_demo_is_linked(deck):
    assert {t.demo for t in deck.topics} == set(DEMOS)


def test_ids_are_unique_and_stable_format(deck):
    ids = [item.id for item in deck.items]
    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"dm-\d{3}", i) for i in ids)


def test_source_items_keep_their_ids_and_added_cards_continue_after_dm_140(deck):
    assert all(item.id == f"dm-{item.source:03d}" for item in deck.items if not item.added)
    added = [int(item.id[3:]) for item in deck.items if item.added]
    assert len(added) >= 20 and min(added) > 140


def test_seed_defects_are_fixed(deck):
    by_source = {item.source: item for item in deck.items}
    text = " ".join(i.question + " " + i.answer for i in deck.items)
    for bad in ("ðŸ¤—", "â€™", "â€˜", "MoÃ»sai"):
        assert bad not in text
    assert "🤗" in by_source[8].question and "Moûsai" in by_source[105].distractors[2]
    assert "Annotated Diffusion Model" in by_source[10].answer
    assert "Normalize(0.5, 0.5)" in by_source[20].answer
    assert by_source[41].question != by_source[52].question
    assert by_source[52].notes and "41" in by_source[52].notes
    assert not by_source[84].answer.startswith("\n")


def test_figures_point_at_files_their_demo_writes(deck):
    figures = [i.figure for i in deck.items if i.figure]
    assert len(figures) >= 100, "most cards should point at demo output"
    for topic in deck.topics:
        shown = sum(1 for item in topic.items if item.figure)
        assert 2 * shown >= len(topic.items), f"{topic.id}: {shown} of {len(topic.items)} cards point at a figure"
    for figure in figures:
        demo, name = figure.split("/")
        assert name in DEMOS[demo].outputs


# --- broken decks ------------------------------------------------------------------------------

GOOD_TOPIC = """\
topic: basics
title: Basics
demo: noise-corruption
items:
  - id: dm-001
    source: 1
    question: What are diffusion models?
    answer: Generative models that refine random noise step by step.
    distractors:
      - Classifiers that sort images into labelled classes.
      - Compression codecs that shrink images losslessly.
      - Search engines that look up matching images.
  - id: dm-002
    source: 2
    question: How does the Diffusers library help?
    answer: It provides pipelines, models and schedulers.
    distractors: [It trains large language models., It labels image datasets by hand., It hosts web pages.]
"""


def write_deck(tmp_path: Path, *files: str) -> Path:
    deck_dir = tmp_path / "deck"
    deck_dir.mkdir(parents=True)
    for n, text in enumerate(files, 1):
        (deck_dir / f"{n:02d}-topic.yaml").write_text(text, encoding="utf-8")
    return deck_dir


def line_of(text: str, needle: str, occurrence: int = 1) -> int:
    lines = [n for n, line in enumerate(text.splitlines(), 1) if needle in line]
    return lines[occurrence - 1]


def problems_of(path: Path) -> list[tuple[str, int, str]]:
    deck, problems = validate(path)
    assert deck is None or not problems
    return [(Path(p.file).name, p.line, p.message) for p in problems]


def test_a_good_deck_passes(tmp_path):
    assert problems_of(write_deck(tmp_path, GOOD_TOPIC)) == []


@pytest.mark.parametrize(
    "bad, good",
    [
        ("How does the Diffusers library help?", "How does the ðŸ¤— Diffusers library help?"),
        ("pipelines, models and schedulers.", "the modelâ€™s pipelines."),
        ("Generative models that", "Models like MoÃ»sai that"),
        ("What are diffusion models?", "What is â€˜Null-text Inversionâ€™?"),
    ],
)
def test_mojibake_is_caught_on_its_line(tmp_path, bad, good):
    text = GOOD_TOPIC.replace(bad, good)
    found = problems_of(write_deck(tmp_path, text))
    assert len(found) == 1
    assert found[0][1] == line_of(text, good)
    assert "mojibake" in found[0][2]


def test_answer_that_repeats_the_question_is_caught(tmp_path):
    # seed items 10 and 20: the answer was a copy of the question
    text = GOOD_TOPIC.replace(
        "answer: It provides pipelines, models and schedulers.",
        "answer: How does the Diffusers library help?",
    )
    assert problems_of(write_deck(tmp_path, text)) == [
        ("01-topic.yaml", line_of(text, "answer: How does"), "item dm-002: the answer repeats the question")
    ]


def test_duplicate_question_is_reported_once_naming_both_places(tmp_path):
    # seed items 41 and 52 asked the same question, in different files
    other = (
        GOOD_TOPIC.replace("topic: basics", "topic: more")
        .replace("dm-00", "dm-10")
        .replace("source: ", "source: 1")
        .replace("What are diffusion models?", "What is a scheduler?")
        .replace("How does the Diffusers library help?", "what are  diffusion MODELS")
    )
    found = problems_of(write_deck(tmp_path, GOOD_TOPIC, other))
    assert [(f, n) for f, n, m in found] == [("01-topic.yaml", line_of(GOOD_TOPIC, "What are diffusion"))]
    assert found[0][2].endswith(f"02-topic.yaml:{line_of(other, 'what are  diffusion')})")


def test_stray_newline_in_answer_is_caught(tmp_path):
    # seed item 84: the answer started with a newline
    text = GOOD_TOPIC.replace("answer: Generative models", 'answer: "\\nGenerative models').replace(
        "step by step.", 'step by step."'
    )
    assert problems_of(write_deck(tmp_path, text)) == [
        ("01-topic.yaml", line_of(text, 'answer: "\\n'), "item dm-001: 'answer' has leading or trailing whitespace")
    ]


def test_yaml_syntax_error_names_file_and_line(tmp_path):
    text = GOOD_TOPIC.replace("    source: 2", "    source: [2")
    found = problems_of(
        write_deck(
            tmp_path,
            text,
            GOOD_TOPIC.replace("basics", "b2")
            .replace("dm-", "x-")
            .replace("source: ", "source: 5")
            .replace("What", "Why")
            .replace("How", "Where"),
        )
    )
    assert len(found) == 1
    name, line, message = found[0]
    assert name == "01-topic.yaml" and "YAML syntax error" in message
    assert line_of(text, "source: [2") <= line <= line_of(text, "source: [2") + 2


def test_duplicate_ids_are_reported_once_naming_both_places(tmp_path):
    text = GOOD_TOPIC.replace("id: dm-002", "id: dm-001")
    found = problems_of(write_deck(tmp_path, text))
    first = line_of(text, "id: dm-001", 1)
    assert [(n, m.split(" (")[0]) for _, n, m in found] == [(first, "duplicate item id dm-001")]
    assert found[0][2].endswith(f"01-topic.yaml:{line_of(text, 'id: dm-001', 2)})")


def test_missing_and_empty_fields_unknown_demo_and_empty_topic_all_reported(tmp_path):
    broken = (
        GOOD_TOPIC.replace("demo: noise-corruption", "demo: style-transfer")
        .replace("    question: What are diffusion models?\n", "")
        .replace("answer: It provides pipelines, models and schedulers.", 'answer: ""')
        .replace("source: 2", "source: 2\n    colour: red")
    )
    empty = "topic: empty\ntitle: Nothing here\ndemo: cfg\nitems: []\n"
    found = problems_of(write_deck(tmp_path, broken, empty))
    messages = {(f, n): m for f, n, m in found}
    assert "unknown demo 'style-transfer'" in messages[("01-topic.yaml", line_of(broken, "demo:"))]
    assert "'question' is missing" in messages[("01-topic.yaml", line_of(broken, "id: dm-001"))]
    assert "'answer' is missing or empty" in messages[("01-topic.yaml", line_of(broken, 'answer: ""'))]
    assert "unknown field 'colour'" in messages[("01-topic.yaml", line_of(broken, "colour"))]
    assert "'items' is missing or empty" in messages[("02-topic.yaml", 4)]
    assert len(found) == 5


def test_figure_must_name_a_file_its_demo_writes(tmp_path):
    text = GOOD_TOPIC.replace("source: 1\n", "source: 1\n    figure: cfg/nonexistent.png\n")
    found = problems_of(write_deck(tmp_path, text))
    assert [(n, "writes no 'nonexistent.png'" in m) for _, n, m in found] == [(line_of(text, "figure:"), True)]


def test_exercise_must_name_one_in_the_catalog(tmp_path):
    text = GOOD_TOPIC.replace("source: 1\n", "source: 1\n    exercise: add-nois\n")
    found = problems_of(write_deck(tmp_path, text))
    assert [(n, "unknown exercise 'add-nois'" in m) for _, n, m in found] == [(line_of(text, "exercise:"), True)]
    good = write_deck(tmp_path / "good", GOOD_TOPIC.replace("source: 1\n", "source: 1\n    exercise: add-noise\n"))
    deck, problems = validate(good)
    assert problems == [] and deck is not None and deck.items[0].exercise == "add-noise"


def test_every_exercise_is_linked_from_a_card(deck):
    linked = {item.exercise for item in deck.items if item.exercise}
    assert linked == exercise_names()


def test_load_deck_raises_with_every_problem(tmp_path):
    text = GOOD_TOPIC.replace("id: dm-002", "id: dm-001").replace("demo: noise-corruption", "demo: nope")
    with pytest.raises(DeckError) as info:
        load_deck(write_deck(tmp_path, text))
    assert len(info.value.problems) == 2


def test_not_utf8_and_not_a_mapping(tmp_path):
    deck_dir = write_deck(tmp_path, "- just\n- a list\n")
    (deck_dir / "02-latin1.yaml").write_bytes("topic: caf\xe9\n".encode("latin-1"))
    found = problems_of(deck_dir)
    assert [(f, n) for f, n, _ in found] == [("01-topic.yaml", 1), ("02-latin1.yaml", 1)]


# --- the item schema: new fields and multiple-choice rules ---------------------------------------

THIRD_ITEM = """\
  - id: dm-003
    source: 3
    question: What does a scheduler do?
    answer: It sets how much noise each step adds or removes.
    distractors:
      - It decides which GPU runs the model.
      - It picks the learning rate of the optimiser.
      - It chooses the image resolution.
"""


def with_third(replacements: dict[str, str] | None = None) -> str:
    text = GOOD_TOPIC + THIRD_ITEM
    for old, new in (replacements or {}).items():
        assert old in text
        text = text.replace(old, new)
    return text


def only_problem(tmp_path: Path, text: str) -> tuple[int, str]:
    found = problems_of(write_deck(tmp_path, text))
    assert len(found) == 1, found
    return found[0][1:]


def test_all_item_fields_load_into_the_dataclass(tmp_path):
    text = with_third(
        {
            "    source: 3\n": "    added: true\n",
            "    question: What does": "    source_answer: It adds noise.\n    why: The source left out removal.\n"
            "    notes: See the schedulers page.\n    tags: [schedules, noise]\n"
            "    question: What does",
        }
    )
    deck, problems = validate(write_deck(tmp_path, text))
    assert problems == []
    item = deck.by_id["dm-003"]
    assert (item.source, item.added, item.topic) == (None, True, "basics")
    assert (item.source_answer, item.why) == ("It adds noise.", "The source left out removal.")
    assert item.notes == "See the schedulers page." and item.tags == ("schedules", "noise")
    assert item.distractors == (
        "It decides which GPU runs the model.",
        "It picks the learning rate of the optimiser.",
        "It chooses the image resolution.",
    )
    assert deck.by_id["dm-001"].added is False and deck.by_id["dm-001"].source == 1


def test_distractors_are_required(tmp_path):
    text = with_third(
        {
            "    distractors:\n      - It decides which GPU runs the model.\n"
            "      - It picks the learning rate of the optimiser.\n"
            "      - It chooses the image resolution.\n": ""
        }
    )
    assert only_problem(tmp_path, text) == (
        line_of(text, "id: dm-003"),
        "item dm-003: 'distractors' is missing or empty",
    )


def test_fewer_than_three_distractors(tmp_path):
    text = with_third({"      - It chooses the image resolution.\n": ""})
    line, message = only_problem(tmp_path, text)
    assert line == line_of(text, "distractors:", 3)
    assert message == "item dm-003: 2 distractor(s); multiple choice needs at least 3"


def test_a_distractor_repeated_within_the_item(tmp_path):
    text = with_third({"It chooses the image resolution.": "it decides which GPU runs the model"})
    assert only_problem(tmp_path, text) == (
        line_of(text, "it decides which GPU"),
        "item dm-003: distractor 3 repeats distractor 1",
    )


def test_a_distractor_that_is_an_answer_anywhere_in_the_deck(tmp_path):
    # dm-001's answer, reworded only in case and punctuation, offered as a wrong option for dm-003
    text = with_third({"It chooses the image resolution.": "generative models that refine random noise, step by step"})
    line, message = only_problem(tmp_path, text)
    assert line == line_of(text, "generative models that refine")
    assert message.startswith("item dm-003: distractor 3 is the answer of item dm-001 (")
    assert message.endswith(f"01-topic.yaml:{line_of(text, 'answer: Generative')})")


def test_a_formula_distractor_differing_from_the_answer_by_an_operator_is_allowed(tmp_path):
    # found in the shipped deck: "eps_u - s (eps_c - eps_u)" was taken for the answer "eps_u + s (...)"
    text = with_third(
        {
            "It sets how much noise each step adds or removes.": "'$x = a + s\\,(b - a)$'",
            "It chooses the image resolution.": "'$x = a - s\\,(b - a)$'",
        }
    )
    assert problems_of(write_deck(tmp_path, text)) == []


def test_an_answer_twice_as_long_as_every_distractor_gives_itself_away(tmp_path):
    long_answer = "It sets how much noise each step adds or removes, following a fixed beta schedule over time."
    text = with_third({"It sets how much noise each step adds or removes.": long_answer})
    line, message = only_problem(tmp_path, text)
    assert line == line_of(text, long_answer)
    assert "the answer (92 characters) is more than 2x as long as its longest distractor (44)" in message


@pytest.mark.parametrize(
    "entry, complaint",
    [('""', "is empty"), ('"two\\nlines"', "must be one line"), ("[a, list]", "must be text"), ("42", "must be text")],
)
def test_each_distractor_is_one_line_of_text(tmp_path, entry, complaint):
    text = with_third({"      - It chooses the image resolution.": f"      - {entry}"})
    line, message = only_problem(tmp_path, text)
    assert line == line_of(text, f"      - {entry}")
    assert message == f"item dm-003: 'distractors' entry 3 {complaint}"


def test_why_is_one_line(tmp_path):
    text = with_third(
        {"    question: What does": '    source_answer: It adds noise.\n    why: "one\\ntwo"\n    question: What does'}
    )
    assert only_problem(tmp_path, text) == (line_of(text, "why:"), "item dm-003: 'why' must be one line")


@pytest.mark.parametrize("given, needed", [("source_answer", "why"), ("why", "source_answer")])
def test_source_answer_and_why_go_together(tmp_path, given, needed):
    text = with_third({"    question: What does": f"    {given}: Something else.\n    question: What does"})
    line, message = only_problem(tmp_path, text)
    assert line == line_of(text, f"{given}:")
    assert message.startswith(f"item dm-003: '{given}' needs '{needed}'")


def test_an_added_card_has_no_source_and_any_other_card_has_one(tmp_path):
    both = with_third({"    source: 3\n": "    source: 3\n    added: true\n"})
    assert only_problem(tmp_path / "both", both) == (
        line_of(both, "source: 3"),
        "item dm-003: an added card has no 'source' (it is in no list)",
    )
    neither = with_third({"    source: 3\n": ""})
    assert only_problem(tmp_path / "neither", neither) == (
        line_of(neither, "id: dm-003"),
        "item dm-003: 'source' is missing or empty (or mark it 'added: true')",
    )


def test_added_must_be_true_or_false(tmp_path):
    text = with_third({"    source: 3\n": "    source: 3\n    added: sometimes\n"})
    assert only_problem(tmp_path, text) == (line_of(text, "added:"), "item dm-003: 'added' must be true or false")


def test_a_formula_that_does_not_parse_is_reported_by_validate_only(tmp_path):
    bad = r"It scales $x_0$ by $\sqrt{\bar{\alpha}_t$."
    text = with_third({"It sets how much noise each step adds or removes.": bad})
    line, message = only_problem(tmp_path, text)
    assert line == line_of(text, "It scales")
    assert message.startswith(r"item dm-003: 'answer' has a formula that does not parse: $\sqrt{\bar{\alpha}_t$")
    # the quiz's loader leaves the check (and matplotlib) to `learnapp validate`
    assert load_deck(tmp_path / "deck").by_id["dm-003"].answer.startswith("It scales")
