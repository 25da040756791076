"""Command line entry point.

Kept fast: only argparse at import time; each command imports what it needs when it runs,
so `learnapp --help` and `learnapp validate` never load Textual or torch.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

from learnapp import quiz_modes
from learnapp.errors import UserError

if TYPE_CHECKING:  # the commands import these when they run: --help stays fast
    from rich.console import Console

    from learnapp.browse import Matches
    from learnapp.content import Deck
    from learnapp.stats import Progress
    from learnapp.store import Store

SHOWN_PROBLEMS = 200  # a broken deck of thousands of items still prints a readable amount


def cmd_validate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from learnapp.content import default_deck_path, validate

    path = Path(args.path) if args.path else default_deck_path()
    if not path.exists():
        raise UserError(f"no deck at {path}: no such file or directory")
    deck, problems = validate(path)
    if problems:
        # plain lines, never wrapped: editors and grep jump to file:line
        for problem in problems[:SHOWN_PROBLEMS]:
            print(problem)
        if len(problems) > SHOWN_PROBLEMS:
            print(f"... and {len(problems) - SHOWN_PROBLEMS} more problem(s) not shown")
        print(f"{len(problems)} problem(s) in {path}")
        return 1
    console = Console(highlight=False)
    assert deck is not None
    table = Table(title=f"Deck {path}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("topic")
    table.add_column("items", justify="right")
    table.add_column("sources", justify="right")
    table.add_column("demo")
    for number, topic in enumerate(deck.topics, 1):
        sources = [item.source for item in topic.items if item.source is not None]  # added cards have none
        span = f"{min(sources)}-{max(sources)}" if sources else "-"
        table.add_row(str(number), topic.title, str(len(topic.items)), span, topic.demo)
    console.print(table)
    console.print(f"[green]OK[/]: {len(deck.items)} items in {len(deck.topics)} topics, no problems.")
    return 0


PLOT_SUFFIXES = (".png", ".svg", ".pdf")
LEECHES_SHOWN = 10


def cmd_progress(args: argparse.Namespace) -> int:
    from learnapp.store import Store, default_path

    _check_progress_options(args)
    with Store(default_path(args.data_dir)) as store:
        if args.import_file or args.export_file:
            return _backup(store, args)
        if args.optimize or args.reset_parameters:
            return _memory_model(store, args)
        from learnapp import stats
        from learnapp.content import load_deck
        from learnapp.exercises.catalog import load_exercises
        from learnapp.exercises.workspace import passed_count

        if args.plot:
            from learnapp.outfile import check_target

            check_target(Path(args.plot), force=args.force, protected=store.files)  # before any output
        deck = load_deck()
        figures = stats.progress(deck, store)
        passed, exercises = passed_count(load_exercises(), store)
        # With --json, stdout carries the JSON alone; notes go to stderr.
        notes = sys.stderr if args.json else sys.stdout
        if args.json:
            print(json.dumps({**figures.to_dict(), "exercises": {"passed": passed, "total": exercises}}, indent=2))
        else:
            _print_progress(figures, store.path, stats.review_calendar(store, weeks=20))
            print(f"Exercises passed: {passed} of {exercises} (learnapp exercise lists them)")
        if args.plot:
            written = stats.plot(deck, store, Path(args.plot), force=args.force)
            print(f"chart written to {written}", file=notes)
    return 0


def _check_progress_options(args: argparse.Namespace) -> None:
    """Options that would be ignored in this combination are refused, not silently dropped."""
    if args.plot and Path(args.plot).suffix.lower() not in PLOT_SUFFIXES:
        raise UserError(f"--plot needs a file ending in {', '.join(PLOT_SUFFIXES)}, not {args.plot!r}")
    backup = "--export" if args.export_file else "--import" if args.import_file else None
    if backup and (args.json or args.plot):
        raise UserError(f"{backup} cannot be combined with {'--json' if args.json else '--plot'}")
    if args.force and not (args.export_file or args.plot):
        raise UserError("--force only applies to --export FILE or --plot FILE")
    for flag, given in (("--dry-run", args.dry_run), ("--allow-unknown-ids", args.allow_unknown_ids)):
        if given and not args.import_file:
            raise UserError(f"{flag} only applies to --import FILE")


def _backup(store: Store, args: argparse.Namespace) -> int:
    from learnapp import backup

    if args.export_file:
        count = backup.export_log(store, Path(args.export_file), force=args.force)
        print(f"exported {count} review(s) from {store.path} to {args.export_file}")
        return 0
    from learnapp.content import load_deck

    known = load_deck().by_id.keys()
    if args.dry_run:
        plan = backup.plan_import(store, Path(args.import_file), known)
        print(f"{plan.describe()}; nothing was changed (dry run)")
        if plan.unknown and not args.allow_unknown_ids:
            raise plan.refusal()
        return 0
    added, skipped = backup.import_log(store, Path(args.import_file), known, allow_unknown=args.allow_unknown_ids)
    print(f"imported {added} review(s) into {store.path}; {skipped} were already there")
    return 0


def _memory_model(store: Store, args: argparse.Namespace) -> int:
    from learnapp import optimize
    from learnapp.srs import utc_now

    if args.reset_parameters:
        if optimize.reset(store):
            print(
                "Back to FSRS's default parameters; the scheduler uses them from now on (earlier fits stay on record)."
            )
        else:
            print("FSRS's default parameters are already in use.")
        return 0
    print(
        "Fitting FSRS to your flashcard reviews (multiple choice is left out: recognising an answer "
        "is easier than recalling it)...",
        flush=True,
    )
    fit = optimize.optimize(store, utc_now())
    if not fit.enough:
        print(
            f"Not enough reviews yet: {fit.spaced} of {fit.needed} spaced reviews (flashcard answers a day "
            f"or more after the card's previous one). The optimizer needs {optimize.MIN_SPACED} to learn from, "
            f"and a fifth more are held out to check the result. Keep reviewing: FSRS's defaults serve until then."
        )
        return 0
    assert fit.default is not None and fit.fitted is not None
    print(
        f"Fitted to {fit.fitted_answers:,} answers of {fit.fitted_cards} cards; checked on "
        f"{fit.fitted.reviews:,} spaced reviews of {fit.held_out_cards} other cards the fit never saw."
    )
    rows = [("FSRS defaults", fit.default), ("fitted now", fit.fitted)]
    if fit.current is not None:
        rows.insert(1, ("fit in use", fit.current))
    print(f"  {'parameters':<14} {'log loss':>9} {'RMSE (bins)':>12}")
    for name, figures in rows:
        print(f"  {name:<14} {figures.log_loss:>9.4f} {100 * figures.rmse_bins:>11.2f}%")
    print("  Lower is better for both: log loss scores each predicted chance of recall against what you did;")
    print("  RMSE (bins) is how far predicted recall is from your actual recall, in percentage points.")
    if fit.adopted:
        print(
            "Kept: the fitted parameters. The scheduler uses them from now on "
            "(`learnapp progress --reset-parameters` goes back to the defaults)."
        )
    else:
        kept = "the fit already in use" if fit.current is not None else "FSRS's default parameters"
        print(f"Kept: {kept}. The new fit did not predict your reviews better on both figures, so it is only recorded.")
    return 0


def _print_progress(figures: Progress, path: Path, calendar: list[tuple[date, int]]) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

    from learnapp.stats import PREDICTED_RECALL_HELP, heatmap_rows
    from learnapp.stats import table as progress_table

    headers, rows = progress_table(figures)
    widths = [max(len(cells[i]) for cells in [headers, *rows]) for i in range(len(headers))]
    console = Console(highlight=False)
    # Titles give way to the numbers on a narrow terminal (a column takes 3 more than its text).
    room = console.width - sum(width + 3 for width in widths[1:]) - 2
    table = Table(
        title=f"Progress on learning day {figures.learning_day}",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    table.add_column(headers[0], no_wrap=True, overflow="ellipsis", max_width=max(8, room))
    for name, width in zip(headers[1:], widths[1:], strict=True):
        table.add_column(name, justify="right", no_wrap=True, min_width=width)
    last_topic = len(figures.topics) - 1
    for index, cells in enumerate(rows):
        is_total = index == len(rows) - 1
        removed = not is_total and figures.topics[index].topic_id is None
        table.add_row(*cells, style="bold" if is_total else "dim" if removed else None, end_section=index == last_topic)
    console.print(table)
    total = figures.total
    console.print(
        f"Streak: {figures.streak} day(s) · answers today: {figures.reviews_today} · "
        f"mastered: {total.mastered} of {total.items}\n"
        "learn: in learning steps · due: before the day ends · mastered: stability >= 21 days · "
        "7d: answers in 7 days",
        markup=False,
    )
    console.print(PREDICTED_RECALL_HELP, markup=False, style="dim")
    _print_retention(console, figures)
    console.print("\nAnswers per day:", markup=False)
    for row in heatmap_rows(calendar):
        console.print(row, markup=False, highlight=False)
    _print_leeches(console, figures)
    model = figures.memory_model
    console.print(
        "\nMemory model: "
        + (
            f"FSRS parameters fitted to your reviews on {model['fitted_at'][:10]} "
            f"(log loss {model['fitted']['log_loss']:.3f} against {model['default']['log_loss']:.3f} "
            "for the defaults, on held-out cards)"
            if model
            else "FSRS's default parameters (`learnapp progress --optimize` fits them to your reviews)"
        ),
        markup=False,
    )
    console.print(f"progress file: {path}", markup=False)


def _print_retention(console: Console, figures: Progress) -> None:
    from learnapp.stats import TRUE_RETENTION_HELP, retention_rows

    console.print()
    for row in retention_rows(figures):
        console.print(row, markup=False)
    console.print(TRUE_RETENTION_HELP, markup=False, style="dim")


def _print_leeches(console: Console, figures: Progress) -> None:
    from learnapp.leeches import LEECH_LAPSES

    if not figures.leeches:
        console.print(f"\nLeeches: none (a card forgotten {LEECH_LAPSES} times becomes one).", markup=False)
        return
    console.print(
        f"\nLeeches (forgotten {LEECH_LAPSES} times or more; `learnapp cards --leech`, then understand "
        "before you memorise: its topic's demo, its figure; or `learnapp cards ID --suspend`):",
        markup=False,
    )
    for leech in figures.leeches[:LEECHES_SHOWN]:
        console.print(
            f"  {leech.item_id}  {leech.lapses} lapses  {leech.question}",
            markup=False,
            overflow="ellipsis",
            no_wrap=True,
        )
    if len(figures.leeches) > LEECHES_SHOWN:
        console.print(
            f"  ... and {len(figures.leeches) - LEECHES_SHOWN} more: `learnapp cards --leech` lists them all",
            markup=False,
        )


def cmd_cards(args: argparse.Namespace) -> int:
    from learnapp import browse
    from learnapp.content import load_deck
    from learnapp.store import Store, default_path

    deck = load_deck()
    if args.topic is not None and args.topic not in {topic.id for topic in deck.topics}:
        known = ", ".join(topic.id for topic in deck.topics)
        raise UserError(f"unknown topic {args.topic} (known: {known})")
    with Store(default_path(args.data_dir)) as store:
        if args.history or args.flag or args.unflag or args.suspend or args.unsuspend:
            if len(args.query) != 1:
                raise UserError("--history, --flag, --unflag, --suspend and --unsuspend take one card id")
            item_id = args.query[0]
            if item_id not in deck.by_id and not store.history(item_id):
                raise UserError(f"unknown card id {item_id!r} (`learnapp cards WORDS` finds cards)")
            if args.history:
                return _print_history(deck, store, item_id)
            return _set_flags(store, item_id, args)
        index = browse.CardIndex(deck, store)
        found = index.search(
            " ".join(args.query),
            topic=args.topic,
            state=args.state,
            flagged=args.flagged,
            leech=args.leech,
            suspended=args.suspended,
        )
        if not found:
            print("no card matches")
            return 0
        _print_cards(found)
    return 0


def _set_flags(store: Store, item_id: str, args: argparse.Namespace) -> int:
    from learnapp.srs import utc_now

    if args.flag or args.unflag:
        store.set_flags(item_id, utc_now(), flagged=bool(args.flag))
        print(f"{item_id}: {'flagged' if args.flag else 'flag removed'}")
    else:
        store.set_flags(item_id, utc_now(), suspended=bool(args.suspend))
        print(f"{item_id}: {'suspended: it stays out of reviews' if args.suspend else 'back in reviews'}")
    return 0


def _local(moment: datetime) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _print_cards(found: Matches) -> None:
    import shutil

    width = shutil.get_terminal_size((120, 24)).columns
    id_width = max(len(card.item.id) for card in found)
    topic_width = max(len(card.item.topic) for card in found)
    for card in found:
        due = card.due.astimezone().strftime("%Y-%m-%d") if card.due else "-"
        head = (
            f"{card.item.id:<{id_width}}  {card.item.topic:<{topic_width}}  {card.state:<10}  {due:<10}  "
            f"{card.marks:<3} "
        )
        room = max(20, width - len(head) - 1)
        question = " ".join(card.item.question.split())
        print(head + (question if len(question) <= room else question[: room - 1] + "…"))


def _print_history(deck: Deck, store: Store, item_id: str) -> int:
    from learnapp.browse import history
    from learnapp.leeches import is_leech
    from learnapp.srs import format_interval

    item = deck.by_id.get(item_id)
    reps, lapses = store.counters(item_id)
    flagged, suspended = store.flags().get(item_id, (False, False))
    notes = [f"{reps} answer(s), {lapses} lapse(s)"]
    notes += [
        note for note, on in (("flagged", flagged), ("suspended", suspended), ("leech", is_leech(store, item_id))) if on
    ]
    print(f"{item_id} · {item.topic if item else 'no longer in the deck'} · " + " · ".join(notes))
    if item:
        print(" ".join(item.question.split()))
    entries = history(store, item_id)
    if not entries:
        print("never reviewed")
        return 0
    print(f"{'when (local)':<16}  {'mode':<9}  {'rating':<6}  {'interval after':>14}  state after")
    for entry in entries:
        print(
            f"{_local(entry.reviewed_at):<16}  {entry.mode:<9}  {entry.rating.name:<6}  "
            f"{format_interval(entry.interval):>14}  {entry.state_after}"
        )
    return 0


WEB_DRIVER = "textual.drivers.web_driver:WebDriver"  # what textual-serve runs each browser tab's app with


def _interactive() -> bool:
    """Both ends are a terminal (a closed stream is None or has no descriptor), or `learnapp serve`
    relays the app to a browser over pipes."""
    if os.environ.get("TEXTUAL_DRIVER") == WEB_DRIVER:
        return True
    try:
        return all(stream is not None and stream.isatty() for stream in (sys.stdin, sys.stdout))
    except ValueError:  # isatty on a closed file
        return False


def cmd_quiz(args: argparse.Namespace) -> int:
    """`learnapp quiz ...` starts reviewing at once; plain `learnapp` opens the topics."""
    from learnapp import paths
    from learnapp.content import load_deck
    from learnapp.srs import NEW_PER_DAY, select_items
    from learnapp.store import Store, default_path

    deck = load_deck()
    start = None
    if args.command == "quiz":
        select_items(deck, args.topic)  # an unknown topic fails here, before the screen is taken
    if not _interactive():
        # Without a terminal Textual would draw into a pipe or wait on input that never comes, forever.
        raise UserError(
            "the quiz needs an interactive terminal (stdin and stdout must both be one); without one, "
            "`learnapp progress` shows progress, `learnapp validate` checks the deck, `learnapp demo` lists the demos"
        )
    if args.command == "quiz":
        from learnapp.review_options import ReviewOptions

        start = ReviewOptions(
            tuple(args.topic or ()), args.mode, args.cram, args.new if args.new is not None else NEW_PER_DAY
        )
    with Store(default_path(args.data_dir)) as store:
        from learnapp.tui.app import LearnApp

        LearnApp(
            deck, store, runs_dir=paths.runs_dir(args.data_dir), start=start, data_dir=paths.data_dir(args.data_dir)
        ).run()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from learnapp.demos import runner

    # int(): mypy checks demos/ as the package `demos`, so what learnapp.demos returns is untyped here
    if not args.name:
        return int(runner.list_demos())
    options, data_dir = _take_data_dir(args.options)
    return int(runner.run_cli(args.name, options, data_dir or args.data_dir))


def cmd_exercise(args: argparse.Namespace) -> int:
    from learnapp.exercises.command import run

    return run(args)


def cmd_export_anki(args: argparse.Namespace) -> int:
    from learnapp import paths
    from learnapp.anki import export
    from learnapp.content import load_deck

    path = Path(args.file)
    if path.suffix.lower() != ".apkg":
        raise UserError(f"the Anki package must end in .apkg, not {args.file!r}")
    written = export(load_deck(), paths.runs_dir(args.data_dir), path, force=args.force)
    print(f"wrote {written.notes} notes to {written.path} ({len(written.figures)} figure(s) embedded)")
    if written.missing_figures:
        print(f"not embedded, as no run has written them yet: {', '.join(written.missing_figures)}")
        demos = sorted({figure.partition("/")[0] for figure in written.missing_figures})
        print(f"run {' and '.join(f'`learnapp demo {d} --quick`' for d in demos)}, then export again")
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    from learnapp import paths
    from learnapp.serve import serve

    try:
        serve(paths.data_dir(args.data_dir), args.host, args.port)
    except OSError as exc:
        raise UserError(f"cannot serve on {args.host}:{args.port}: {exc.strerror or exc}") from None
    return 0


def _take_data_dir(options: list[str]) -> tuple[list[str], str | None]:
    """`demo NAME ... --data-dir D ...`: the global option leaves the demo's own options, the last one wins."""
    rest: list[str] = []
    data_dir: str | None = None
    words = iter(options)
    for word in words:
        if word == "--data-dir":
            data_dir = next(words, None)
            if data_dir is None:
                raise UserError("argument --data-dir: expected one argument")
            data_dir = _folder(data_dir)
        elif word.startswith("--data-dir="):
            data_dir = _folder(word.partition("=")[2])
        else:
            rest.append(word)
    return rest, data_dir


class _Parser(argparse.ArgumentParser):
    """A bad option is one `learnapp: error:` line, like every other bad input (argparse prints usage too)."""

    def error(self, message: str) -> NoReturn:
        raise UserError(f"{message} (see `{self.prog} --help`)")


def _folder(text: str) -> str:
    if not text.strip():
        # an empty --data-dir would silently fall back to the real data dir
        raise UserError("--data-dir needs a folder, not an empty name")
    return text


def _whole_number(option: str, low: int, high: int) -> Callable[[str], int]:
    """An argparse type: a whole number in [low, high], else one line naming the option."""

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise UserError(f"{option} must be a whole number, not {text!r}") from None
        if value < low:
            raise UserError(f"{option} must be {low} or more, not {value}")
        if value > high:
            raise UserError(f"{option} must be {high} or less, not {value}")
        return value

    return parse


MAX_NEW_PER_DAY = 9999  # Anki's own limit; larger values would only overflow SQLite's LIMIT


def _global_options(parser: argparse.ArgumentParser, *, after_command: bool) -> None:
    """Options every command takes, before or after its name (`learnapp quiz --data-dir D`).

    After the command the default is SUPPRESS, so an option left out there keeps the value
    given before the command instead of resetting it.
    """
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=_folder,
        default=argparse.SUPPRESS if after_command else None,
        help="where progress and demo runs are kept (default: $LEARNAPP_DATA_DIR or the user data dir)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(
        prog="learnapp",
        description="Learn diffusion models in the terminal: spaced-repetition cards and runnable demos.",
    )
    _global_options(parser, after_command=False)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name: str, **kwargs: Any) -> argparse.ArgumentParser:
        sub = commands.add_parser(name, **kwargs)
        _global_options(sub, after_command=True)
        return sub

    validate = command("validate", help="check a deck (default: the shipped one) and report every problem")
    validate.add_argument("path", nargs="?", help="a deck directory or a topic YAML file")
    validate.set_defaults(handler=cmd_validate)

    progress = command("progress", help="show progress per topic; chart it; back up or restore the review log")
    progress.add_argument("--json", action="store_true", help="print the figures as JSON")
    progress.add_argument("--plot", metavar="FILE.png", help="also draw a chart (PNG, SVG or PDF)")
    backup = progress.add_mutually_exclusive_group()
    backup.add_argument(
        "--optimize",
        action="store_true",
        help="fit FSRS's parameters to your flashcard reviews; kept only if they predict your recall better "
        "(multiple choice is left out: it tests recognition, not recall)",
    )
    backup.add_argument("--reset-parameters", action="store_true", help="go back to FSRS's default parameters")
    backup.add_argument(
        "--export", dest="export_file", metavar="FILE", help="write the whole review log to FILE (JSON Lines)"
    )
    backup.add_argument(
        "--import",
        dest="import_file",
        metavar="FILE",
        help="add the reviews of an export; a malformed file is refused whole",
    )
    progress.add_argument(
        "--force", action="store_true", help="let --export or --plot replace an existing file (never the store)"
    )
    progress.add_argument(
        "--allow-unknown-ids", action="store_true", help="let --import add reviews of items the deck does not have"
    )
    progress.add_argument(
        "--dry-run", action="store_true", help="with --import: say what would be added, change nothing"
    )
    progress.set_defaults(handler=cmd_progress)

    cards = command(
        "cards",
        help="find cards (fuzzy search of question, answer and tags); one card's history; flag or suspend it",
        description="Without an action: list the cards matching QUERY and the filters, best first. With an "
        "action (--history, --flag, ...): QUERY is one card's id.",
    )
    cards.add_argument("query", nargs="*", metavar="QUERY", help="words to look for (typos forgiven), or a card id")
    cards.add_argument("--topic", metavar="T", help="only this topic")
    cards.add_argument("--state", choices=("new", "learning", "review", "relearning"), help="only cards in this state")
    cards.add_argument("--flagged", action="store_true", help="only flagged cards")
    cards.add_argument("--leech", action="store_true", help="only leeches (forgotten 5 times or more)")
    cards.add_argument("--suspended", action="store_true", help="only suspended cards")
    action = cards.add_mutually_exclusive_group()
    for flag, text in (
        ("--history", "every answer to card ID: when, mode, rating, interval after"),
        ("--flag", "flag card ID"),
        ("--unflag", "remove its flag"),
        ("--suspend", "keep card ID out of reviews"),
        ("--unsuspend", "bring it back"),
    ):
        action.add_argument(flag, action="store_true", help=text)
    cards.set_defaults(handler=cmd_cards)

    quiz = command("quiz", help="review the cards that are due (the default without a command)")
    quiz.add_argument("--topic", action="append", metavar="T", help="only this topic (repeat for several)")
    quiz.add_argument(
        "--mode", choices=tuple(quiz_modes.MODES), default=quiz_modes.DEFAULT_MODE, help=quiz_modes.cli_help()
    )
    quiz.add_argument("--cram", action="store_true", help="practise every card; the schedule is not touched")
    # the default lives in srs, which --help must not import (start-up time)
    quiz.add_argument(
        "--new",
        type=_whole_number("--new", 0, MAX_NEW_PER_DAY),
        metavar="N",
        help=f"new cards a day, 0 to {MAX_NEW_PER_DAY} (default: 20, as in Anki)",
    )
    quiz.set_defaults(handler=cmd_quiz)
    parser.set_defaults(handler=cmd_quiz)
    demo = command(
        "demo",
        help="list the demos, or run one: learnapp demo NAME [--quick] [options] (NAME --help lists them)",
        description="Without NAME: list the demos. With NAME: run it; `learnapp demo NAME --help` shows its options.",
    )
    demo.add_argument("name", nargs="?", help="the demo to run")
    demo.add_argument("options", nargs=argparse.REMAINDER, help="options of the demo, e.g. --quick --device cpu")
    demo.set_defaults(handler=cmd_demo)

    anki = command(
        "export-anki",
        help="write the deck as an Anki package (.apkg) for Anki, AnkiDroid, AnkiMobile",
        description="Write the deck as an Anki package: one note per card, a subdeck per topic, formulas as "
        "MathJax, and the demo figures you have run. Importing a newer export updates the same notes. "
        "Your learnapp review history does not travel: Anki schedules the cards afresh.",
    )
    anki.add_argument("file", metavar="FILE.apkg", help="the package to write")
    anki.add_argument("--force", action="store_true", help="replace FILE if it exists")
    anki.set_defaults(handler=cmd_export_anki)

    serve = command(
        "serve",
        help="the app in a web browser (textual-serve), on this machine only by default",
        description="Serve the app to a web browser. Each tab runs its own learnapp; all share your progress. "
        "There is no authentication: keep the default host unless you trust your network.",
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument(
        "--port", type=_whole_number("--port", 1, 65535), default=8000, help="port to listen on (default: 8000)"
    )
    serve.set_defaults(handler=cmd_serve)

    exercise = command(
        "exercise",
        help="list the exercises, or do one: write a diffusion function, checked against diffusers on every save",
        description="Without NAME: the exercises by topic with their status. With NAME: copy its starter file "
        "into the data folder (never over your work), then check it on every save until it passes.",
    )
    exercise.add_argument("name", nargs="?", help="the exercise, e.g. add-noise")
    exercise.add_argument("--once", action="store_true", help="check once and exit: 0 if it passes, 1 if not")
    exercise.add_argument("--hint", action="store_true", help="show the next hint you have not seen")
    exercise.add_argument(
        "--reset", action="store_true", help="start over from the starter (the old file is kept as .bak)"
    )
    exercise.add_argument("--edit", action="store_true", help="open the file in $EDITOR first")
    exercise.set_defaults(handler=cmd_exercise)
    return parser


def _tolerant_output() -> None:
    """A character the terminal's encoding lacks (LANG=C, a latin-1 console) prints as '?', not a crash."""
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None and getattr(stream, "errors", None) == "strict":
            with contextlib.suppress(ValueError, OSError):  # a closed or unusual stream: leave it be
                reconfigure(errors="replace")


def main(argv: list[str] | None = None) -> int:
    _tolerant_output()
    try:
        args = build_parser().parse_args(argv)
        handler: Callable[[argparse.Namespace], int] = args.handler
        code = handler(args)
        if sys.stdout is not None:
            sys.stdout.flush()  # a reader that left shows here, not as a traceback at interpreter exit
        return code
    except UserError as exc:
        print(f"learnapp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("learnapp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader left (`learnapp progress | head`): nothing more to say, and nowhere to say it.
        # What is still buffered goes to /dev/null at exit instead of failing again (Python's recipe).
        # not a real file (a test's capture): nothing to flush at exit
        with contextlib.suppress(AttributeError, OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


if __name__ == "__main__":
    sys.exit(main())
