"""Command line entry point.

Kept fast: only argparse at import time; each command imports what it needs when it runs,
so `learnapp --help` and `learnapp validate` never load Textual or torch.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from learnapp.errors import UserError


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
        for problem in problems:
            print(problem)
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

    if args.plot and Path(args.plot).suffix.lower() not in PLOT_SUFFIXES:
        raise UserError(f"--plot needs a file ending in {', '.join(PLOT_SUFFIXES)}, not {args.plot!r}")
    with Store(default_path(args.data_dir)) as store:
        if args.import_file or args.export_file:
            return _backup(store, args)
        if args.optimize or args.reset_parameters:
            return _memory_model(store, args)
        from learnapp import stats
        from learnapp.content import load_deck

        deck = load_deck()
        figures = stats.progress(deck, store)
        # With --json, stdout carries the JSON alone; notes go to stderr.
        notes = sys.stderr if args.json else sys.stdout
        if args.json:
            print(json.dumps(figures.to_dict(), indent=2))
        else:
            _print_progress(figures, store.path, stats.review_calendar(store, weeks=20))
        if args.plot:
            try:
                written = stats.plot(deck, store, Path(args.plot))
            except OSError as exc:
                raise UserError(f"cannot write {args.plot}: {exc.strerror or exc}") from None
            print(f"chart written to {written}", file=notes)
    return 0


def _backup(store, args: argparse.Namespace) -> int:
    from learnapp.backup import export_log, import_log

    if args.export_file:
        count = export_log(store, Path(args.export_file))
        print(f"exported {count} review(s) from {store.path} to {args.export_file}")
    else:
        added, skipped = import_log(store, Path(args.import_file))
        print(f"imported {added} review(s) into {store.path}; {skipped} were already there")
    return 0


def _memory_model(store, args: argparse.Namespace) -> int:
    from learnapp import optimize
    from learnapp.srs import utc_now

    if args.reset_parameters:
        if optimize.reset(store):
            print("Back to FSRS's default parameters; the scheduler uses them from now on "
                  "(earlier fits stay on record).")
        else:
            print("FSRS's default parameters are already in use.")
        return 0
    print("Fitting FSRS to your flashcard reviews (multiple choice is left out: recognising an answer "
          "is easier than recalling it)...", flush=True)
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
        print("Kept: the fitted parameters. The scheduler uses them from now on "
              "(`learnapp progress --reset-parameters` goes back to the defaults).")
    else:
        kept = "the fit already in use" if fit.current is not None else "FSRS's default parameters"
        print(f"Kept: {kept}. The new fit did not predict your reviews better on both figures, so it is "
              "only recorded.")
    return 0


def _print_progress(figures, path: Path, calendar) -> None:
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
        title=f"Progress on learning day {figures.learning_day}", title_justify="left",
        box=box.SIMPLE_HEAD, pad_edge=False,
    )
    table.add_column(headers[0], no_wrap=True, overflow="ellipsis", max_width=max(8, room))
    for name, width in zip(headers[1:], widths[1:]):
        table.add_column(name, justify="right", no_wrap=True, min_width=width)
    last_topic = len(figures.topics) - 1
    for index, cells in enumerate(rows):
        is_total = index == len(rows) - 1
        removed = not is_total and figures.topics[index].topic_id is None
        table.add_row(
            *cells, style="bold" if is_total else "dim" if removed else None, end_section=index == last_topic
        )
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
        "\nMemory model: " + (
            f"FSRS parameters fitted to your reviews on {model['fitted_at'][:10]} "
            f"(log loss {model['fitted']['log_loss']:.3f} against {model['default']['log_loss']:.3f} "
            "for the defaults, on held-out cards)" if model else
            "FSRS's default parameters (`learnapp progress --optimize` fits them to your reviews)"
        ),
        markup=False,
    )
    console.print(f"progress file: {path}", markup=False)


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _print_retention(console, figures) -> None:
    from learnapp.stats import TRUE_RETENTION_HELP

    console.print(
        f"\nTrue retention: due reviews recalled / due reviews (desired: {_percent(figures.desired_retention)})",
        markup=False,
    )
    for label, periods, fmt in (
        ("week of", figures.retention_weeks, "%d %b"), ("month", figures.retention_months, "%b %Y")
    ):
        console.print(f"  {label:<9}" + "".join(f"{p.start.strftime(fmt):>10}" for p in periods), markup=False)
        cells = (f"{_percent(p.rate)} /{p.reviews}" if p.reviews else "-" for p in periods)
        console.print(f"  {'':<9}" + "".join(f"{cell:>10}" for cell in cells), markup=False)
    console.print(TRUE_RETENTION_HELP, markup=False, style="dim")


def _print_leeches(console, figures) -> None:
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
        console.print(f"  {leech.item_id}  {leech.lapses} lapses  {leech.question}", markup=False, overflow="ellipsis",
                      no_wrap=True)
    if len(figures.leeches) > LEECHES_SHOWN:
        console.print(f"  ... and {len(figures.leeches) - LEECHES_SHOWN} more: `learnapp cards --leech` lists them all",
                      markup=False)


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
            " ".join(args.query), topic=args.topic, state=args.state, flagged=args.flagged, leech=args.leech,
            suspended=args.suspended,
        )
        if not found:
            print("no card matches")
            return 0
        _print_cards(found)
    return 0


def _set_flags(store, item_id: str, args: argparse.Namespace) -> int:
    from learnapp.srs import utc_now

    if args.flag or args.unflag:
        store.set_flags(item_id, utc_now(), flagged=bool(args.flag))
        print(f"{item_id}: {'flagged' if args.flag else 'flag removed'}")
    else:
        store.set_flags(item_id, utc_now(), suspended=bool(args.suspend))
        print(f"{item_id}: {'suspended: it stays out of reviews' if args.suspend else 'back in reviews'}")
    return 0


def _local(moment) -> str:
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


def _print_cards(found) -> None:
    import shutil

    width = shutil.get_terminal_size((120, 24)).columns
    id_width = max(len(card.item.id) for card in found)
    topic_width = max(len(card.item.topic) for card in found)
    for card in found:
        due = card.due.astimezone().strftime("%Y-%m-%d") if card.due else "-"
        marks = "".join(mark for mark, on in (("F", card.flagged), ("S", card.suspended), ("L", card.leech)) if on)
        head = f"{card.item.id:<{id_width}}  {card.item.topic:<{topic_width}}  {card.state:<10}  {due:<10}  {marks:<3} "
        room = max(20, width - len(head) - 1)
        question = " ".join(card.item.question.split())
        print(head + (question if len(question) <= room else question[: room - 1] + "…"))


def _print_history(deck, store, item_id: str) -> int:
    from learnapp.browse import history
    from learnapp.leeches import is_leech
    from learnapp.srs import format_interval

    item = deck.by_id.get(item_id)
    reps, lapses = store.counters(item_id)
    flagged, suspended = store.flags().get(item_id, (False, False))
    notes = [f"{reps} answer(s), {lapses} lapse(s)"]
    notes += [note for note, on in (("flagged", flagged), ("suspended", suspended),
                                    ("leech", is_leech(store, item_id))) if on]
    print(f"{item_id} · {item.topic if item else 'no longer in the deck'} · " + " · ".join(notes))
    if item:
        print(" ".join(item.question.split()))
    entries = history(store, item_id)
    if not entries:
        print("never reviewed")
        return 0
    print(f"{'when (local)':<16}  {'mode':<9}  {'rating':<6}  {'interval after':>14}  state after")
    for entry in entries:
        print(f"{_local(entry.reviewed_at):<16}  {entry.mode:<9}  {entry.rating.name:<6}  "
              f"{format_interval(entry.interval):>14}  {entry.state_after}")
    return 0


def cmd_quiz(args: argparse.Namespace) -> int:
    """`learnapp quiz ...` starts reviewing at once; plain `learnapp` opens the topics."""
    from learnapp import paths
    from learnapp.content import load_deck
    from learnapp.srs import NEW_PER_DAY, select_items
    from learnapp.store import Store, default_path

    deck = load_deck()
    start = None
    if args.command == "quiz":
        if args.new is not None and args.new < 0:
            raise UserError(f"--new must be 0 or more, not {args.new}")
        select_items(deck, args.topic)  # an unknown topic fails here, before the screen is taken
        from learnapp.tui.app import ReviewOptions

        start = ReviewOptions(tuple(args.topic or ()), args.mode, args.cram, args.new if args.new is not None
                              else NEW_PER_DAY)
    with Store(default_path(args.data_dir)) as store:
        from learnapp.tui.app import LearnApp

        LearnApp(deck, store, runs_dir=paths.runs_dir(args.data_dir), start=start).run()
    return 0


def cmd_demo(args: argparse.Namespace) -> int:
    from learnapp.demos import runner

    if not args.name:
        return runner.list_demos()
    return runner.run_cli(args.name, args.options, args.data_dir)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="learnapp",
        description="Learn diffusion models in the terminal: spaced-repetition cards and runnable demos.",
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        help="where progress and demo runs are kept (default: $LEARNAPP_DATA_DIR or the user data dir)",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    validate = commands.add_parser(
        "validate", help="check a deck (default: the shipped one) and report every problem"
    )
    validate.add_argument("path", nargs="?", help="a deck directory or a topic YAML file")
    validate.set_defaults(handler=cmd_validate)

    progress = commands.add_parser(
        "progress", help="show progress per topic; chart it; back up or restore the review log"
    )
    progress.add_argument("--json", action="store_true", help="print the figures as JSON")
    progress.add_argument("--plot", metavar="FILE.png", help="also draw a chart (PNG, SVG or PDF)")
    backup = progress.add_mutually_exclusive_group()
    backup.add_argument(
        "--optimize", action="store_true",
        help="fit FSRS's parameters to your flashcard reviews; kept only if they predict your recall better "
        "(multiple choice is left out: it tests recognition, not recall)",
    )
    backup.add_argument(
        "--reset-parameters", action="store_true", help="go back to FSRS's default parameters"
    )
    backup.add_argument(
        "--export", dest="export_file", metavar="FILE", help="write the whole review log to FILE (JSON Lines)"
    )
    backup.add_argument(
        "--import", dest="import_file", metavar="FILE",
        help="add the reviews of an export; a malformed file is refused whole",
    )
    progress.set_defaults(handler=cmd_progress)

    cards = commands.add_parser(
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
        ("--flag", "flag card ID"), ("--unflag", "remove its flag"),
        ("--suspend", "keep card ID out of reviews"), ("--unsuspend", "bring it back"),
    ):
        action.add_argument(flag, action="store_true", help=text)
    cards.set_defaults(handler=cmd_cards)

    quiz = commands.add_parser("quiz", help="review the cards that are due (the default without a command)")
    quiz.add_argument("--topic", action="append", metavar="T", help="only this topic (repeat for several)")
    quiz.add_argument("--mode", choices=("flashcards", "choice"), default="flashcards",
                      help="reveal and rate yourself, or pick among four answers (default: flashcards). "
                      "Choice tests recognition, not recall: its answers move the schedule but are not used to fit "
                      "your parameters (progress --optimize) nor counted in true retention")
    quiz.add_argument("--cram", action="store_true", help="practise every card; the schedule is not touched")
    # the default lives in srs, which --help must not import (start-up time)
    quiz.add_argument("--new", type=int, metavar="N", help="new cards a day (default: 20, as in Anki)")
    quiz.set_defaults(handler=cmd_quiz)
    parser.set_defaults(handler=cmd_quiz)
    demo = commands.add_parser(
        "demo",
        help="list the demos, or run one: learnapp demo NAME [--quick] [options] (NAME --help lists them)",
        description="Without NAME: list the demos. With NAME: run it; `learnapp demo NAME --help` shows its options.",
    )
    demo.add_argument("name", nargs="?", help="the demo to run")
    demo.add_argument("options", nargs=argparse.REMAINDER, help="options of the demo, e.g. --quick --device cpu")
    demo.set_defaults(handler=cmd_demo)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.handler(args)
    except UserError as exc:
        print(f"learnapp: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("learnapp: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `learnapp cards | head`: the reader has gone; say nothing more to it.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - Python flushes stdout at exit
        return 141


if __name__ == "__main__":
    sys.exit(main())
