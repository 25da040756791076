"""Command line entry point.

Kept fast: only argparse at import time; each command imports what it needs when it runs,
so `learnapp --help` and `learnapp validate` never load Textual or torch.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from learnapp.errors import UserError


def cmd_validate(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.table import Table

    from learnapp.content import default_deck_path, validate

    path = Path(args.path) if args.path else default_deck_path()
    deck, problems = validate(path)
    console = Console(highlight=False)
    if problems:
        for problem in problems:
            console.print(str(problem), markup=False)
        console.print(f"[bold red]{len(problems)} problem(s)[/] in {path}")
        return 1
    assert deck is not None
    table = Table(title=f"Deck {path}", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("topic")
    table.add_column("items", justify="right")
    table.add_column("sources", justify="right")
    table.add_column("demo")
    for number, topic in enumerate(deck.topics, 1):
        sources = [item.source for item in topic.items]
        table.add_row(str(number), topic.title, str(len(topic.items)), f"{min(sources)}-{max(sources)}", topic.demo)
    console.print(table)
    console.print(f"[green]OK[/]: {len(deck.items)} items in {len(deck.topics)} topics, no problems.")
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
    if not getattr(args, "handler", None):
        parser.print_help()
        return 0
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
