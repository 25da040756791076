"""Command line entry point.

Kept fast: only argparse at import time; each command imports what it needs when it runs,
so `learnapp --help` and `learnapp validate` never load Textual or torch.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from learnapp import quiz_modes
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


def cmd_progress(args: argparse.Namespace) -> int:
    from learnapp.store import Store, default_path

    if args.plot and Path(args.plot).suffix.lower() not in PLOT_SUFFIXES:
        raise UserError(f"--plot needs a file ending in {', '.join(PLOT_SUFFIXES)}, not {args.plot!r}")
    with Store(default_path(args.data_dir)) as store:
        if args.import_file or args.export_file:
            return _backup(store, args)
        from learnapp import stats
        from learnapp.content import load_deck

        deck = load_deck()
        figures = stats.progress(deck, store)
        # With --json, stdout carries the JSON alone; notes go to stderr.
        notes = sys.stderr if args.json else sys.stdout
        if args.json:
            print(json.dumps(figures.to_dict(), indent=2))
        else:
            _print_progress(figures, store.path)
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


def _print_progress(figures, path: Path) -> None:
    from rich import box
    from rich.console import Console
    from rich.table import Table

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
        "learn: in learning steps · due: before the day ends · mastered: stability >= 21 days\n"
        "recall: average predicted recall of reviewed cards now · 7d: answers in 7 days\n"
        f"progress file: {path}",
        markup=False,
    )


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
        from learnapp.review_options import ReviewOptions

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
        "--export", dest="export_file", metavar="FILE", help="write the whole review log to FILE (JSON Lines)"
    )
    backup.add_argument(
        "--import", dest="import_file", metavar="FILE",
        help="add the reviews of an export; a malformed file is refused whole",
    )
    progress.set_defaults(handler=cmd_progress)

    quiz = commands.add_parser("quiz", help="review the cards that are due (the default without a command)")
    quiz.add_argument("--topic", action="append", metavar="T", help="only this topic (repeat for several)")
    quiz.add_argument("--mode", choices=tuple(quiz_modes.MODES), default=quiz_modes.DEFAULT_MODE,
                      help=quiz_modes.cli_help())
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


if __name__ == "__main__":
    sys.exit(main())
