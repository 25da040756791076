"""`learnapp demo`: list the demos, turn a demo's Config into options, run it with a progress bar.

Listing needs only the registry and the deck, so it never imports torch; running imports the
demo module (and with it torch and diffusers) only once a name is given.
"""

from __future__ import annotations

import argparse
import contextlib
import dataclasses
import importlib
import re
import signal
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType, TracebackType
from typing import TYPE_CHECKING, Any

from learnapp import paths
from learnapp.errors import UserError

from . import DEMOS, estimates, runs
from . import config as config_options
from .base import Progress

if TYPE_CHECKING:  # the module imports torch; the listing must not
    from .device import Runtime

PACKAGE = __name__.rpartition(".")[0]


def module_name(demo: str) -> str:
    return f"{PACKAGE}.{demo.replace('-', '_')}"


def load(demo: str) -> ModuleType:
    if demo not in DEMOS:
        raise UserError(f"unknown demo '{demo}'; choose one of: {', '.join(DEMOS)}")
    return importlib.import_module(module_name(demo))


def list_demos() -> int:
    from rich.console import Console
    from rich.table import Table

    from learnapp.content import load_deck

    topics: dict[str, list[str]] = {}
    for topic in load_deck().topics:
        topics.setdefault(topic.demo, []).append(topic.title)
    table = Table(
        title="Demos (run one: learnapp demo NAME [--quick]; options: learnapp demo NAME --help)", title_justify="left"
    )
    table.add_column("demo", no_wrap=True)
    table.add_column("what it shows")
    table.add_column("topics")
    for name, info in DEMOS.items():
        table.add_row(name, info.summary, ", ".join(topics.get(name, [])) or "-")
    Console(highlight=False).print(table)
    return 0


class _Parser(argparse.ArgumentParser):
    """Bad options end as one `learnapp: error:` line, like every other bad input."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise UserError(f"{self.prog}: {message}")


def build_parser(demo: str, module: ModuleType) -> argparse.ArgumentParser:
    summary = (module.__doc__ or DEMOS[demo].summary).strip().split("\n\n")[0]
    parser = _Parser(prog=f"learnapp demo {demo}", description=summary)
    parser.add_argument(
        "--quick",
        action="store_true",
        help=f"the quick preset: a small run for a CPU ({estimates.quick_reference(demo)})",
    )
    parser.add_argument(
        "--out",
        metavar="DIR",
        type=config_options.PARSERS[str],
        help="parent folder for the run folder (default: the data dir's runs/)",
    )
    config_class = module.Config
    config_options.add_options(parser, config_class, config_class(), config_class.quick())
    return parser


def run_cli(demo: str, argv: list[str], data_dir: str | None = None) -> int:
    module = load(demo)
    parser = build_parser(demo, module)
    try:
        args = parser.parse_args(argv)
    except SystemExit as stop:  # --help
        return int(stop.code or 0)
    config = config_options.from_args(module.Config, args, args.quick)
    base = Path(args.out).expanduser() if args.out else paths.runs_dir(data_dir)
    with _sigterm_as_interrupt():
        execute(demo, module, config, base, "quick" if args.quick else "full")
    return 0


@contextlib.contextmanager
def _sigterm_as_interrupt() -> Iterator[None]:
    """`kill`, `timeout` and batch schedulers stop a run with SIGTERM: end it as Ctrl-C does, so
    the run folder is marked incomplete instead of left "running"."""

    def interrupt(signum: int, frame: object) -> None:
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def run_quick(demo: str, base: Path, report: Progress) -> Path:
    """The quick preset, reporting to `report` instead of drawing (the app's demo screen)."""
    module = load(demo)
    return execute(demo, module, module.Config.quick(), base, "quick", report)


def execute(
    demo: str, module: ModuleType, config: Any, base: Path, preset: str, report: Progress | None = None
) -> Path:
    """Run `module` with `config` in a fresh folder under `base/<demo>/` and return the folder.

    Progress goes to `report` if given (the run is silent), else to a rich progress bar.
    An interrupted or failed run keeps what it wrote, marked incomplete in metrics.json.
    """
    import torch
    from rich.console import Console

    from . import device, output

    runtime = device.resolve(
        getattr(config, "device", "cpu"), getattr(config, "precision", "auto"), getattr(config, "compile", "auto")
    )
    out_dir = _agreed_run_dir(base, demo, runtime)
    console = Console(highlight=False, quiet=report is not None or not runtime.is_main_process)
    record: dict[str, Any] = {
        "demo": demo,
        "status": "running",
        "preset": preset,
        "command": output.python_command(),
        "started": datetime.now(UTC).isoformat(timespec="seconds"),
        "process": runs.process_identity(),  # so that a killed run can be told from a running one
        "config": dataclasses.asdict(config),
        "device": runtime.describe(),
        "versions": output.library_versions(),
    }
    metrics_path = out_dir / output.METRICS_FILE
    estimate = _estimate(demo, module, config, runtime)
    record["estimate"] = estimate

    def finish(status: str, **extra: Any) -> None:
        if runtime.is_main_process:
            timings = stages.seconds()
            estimate["actual_seconds"] = timings["total"]
            record.update(
                status=status,
                finished=datetime.now(UTC).isoformat(timespec="seconds"),
                timings=timings,
                **extra,
            )
            record.setdefault("files", sorted(p.name for p in out_dir.iterdir() if p.name != output.METRICS_FILE))
            output.write_json(metrics_path, record)

    stages = _StageClock()
    if runtime.is_main_process:
        output.write_json(metrics_path, record)
        console.print(
            f"[bold]{demo}[/] ({preset} preset) on {runtime.name}"
            + (", bf16 autocast" if runtime.mixed_precision == "bf16" else "")
            + (f", {runtime.num_processes} processes" if runtime.num_processes > 1 else "")
            + f" -> {out_dir}"
        )
        if estimate["expected_seconds"] is not None:
            console.print(f"expected: {estimates.describe(estimate['expected_seconds'])} on {runtime.name}")
    with _Bar(console, stages, report) as progress:
        try:
            result = module.run(config, out_dir, progress)
        except KeyboardInterrupt:
            finish("incomplete", error="interrupted")
            console.print(f"[yellow]Interrupted.[/] What was written is kept in {out_dir} (marked incomplete).")
            raise
        except BaseException as exc:
            finish("incomplete", error=f"{type(exc).__name__}: {exc}")
            if isinstance(exc, torch.cuda.OutOfMemoryError):
                raise UserError("out of GPU memory; try a smaller --batch-size") from None
            if isinstance(exc, RuntimeError) and "can't allocate memory" in str(exc):  # torch's CPU allocator
                asked = re.search(r"allocate (\d+) bytes", str(exc))
                size = f" ({int(asked[1]) / 2**30:,.1f} GiB at once)" if asked else ""
                raise UserError(f"out of memory{size}; try smaller sizes or counts in the options") from None
            raise
    finish("complete", metrics=result.metrics, files=[p.name for p in result.files])
    if runtime.is_main_process:
        for line in result.summary:
            console.print(line)
        console.print(f"[green]Results[/] in {out_dir}:")
        for path in result.files:
            console.print(f"  {path.name}")
        console.print(f"  {output.METRICS_FILE}  (config, device, versions, timings, metrics)")
    return out_dir


def _estimate(demo: str, module: ModuleType, config: Any, runtime: Runtime) -> dict[str, Any]:
    """How long this run should take here (`estimates.py`), with what the figure was computed from."""
    import torch

    work = getattr(module, "work", estimates.work)
    units, quick_units = work(config), work(module.Config.quick())
    gflops, busy = estimates.probe_gflops(runtime.device), estimates.busy_factor()
    speed = estimates.speed(gflops, runtime.device.type, torch.get_num_threads(), busy)
    expected = estimates.expected_seconds(demo, units, quick_units, speed)
    return {
        "expected_seconds": None if expected is None else round(expected, 1),
        "work_units": round(units, 3),
        "quick_work_units": round(quick_units, 3),
        "probe_gflops": round(gflops, 2),
        "busy_factor": round(busy, 2),
        "speed": round(speed, 2),
    }


def _agreed_run_dir(base: Path, demo: str, runtime: Runtime) -> Path:
    """The main process creates the folder; under `accelerate launch` the others learn its name."""
    folder = runs.new_run_dir(base, demo) if runtime.is_main_process else None
    if runtime.num_processes > 1:
        # accelerate ships no type information
        from accelerate.utils import broadcast_object_list  # type: ignore[import-untyped]

        folder = Path(broadcast_object_list([str(folder)])[0])
    assert folder is not None
    return folder


class _StageClock:
    """Seconds spent in each stage, from the progress reports themselves."""

    def __init__(self) -> None:
        self.started = time.perf_counter()
        self.current: str | None = None
        self.since = self.started
        self.spent: dict[str, float] = {}

    def tick(self, stage: str) -> bool:
        """Note a report for `stage`; True when it is a new stage."""
        if stage == self.current:
            return False
        now = time.perf_counter()
        if self.current is not None:
            self.spent[self.current] = self.spent.get(self.current, 0.0) + now - self.since
        self.current, self.since = stage, now
        return True

    def seconds(self) -> dict[str, float]:
        spent = dict(self.spent)
        if self.current is not None:
            spent[self.current] = spent.get(self.current, 0.0) + time.perf_counter() - self.since
        spent["total"] = time.perf_counter() - self.started
        return {name: round(value, 3) for name, value in spent.items()}


class _Bar:
    """A rich progress display with one row per stage, or `report` when given; a `Progress`."""

    def __init__(self, console: Any, clock: _StageClock, report: Progress | None = None) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.clock = clock
        self.report = report
        self.bar = Progress(
            TextColumn("{task.description:<24}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            TimeRemainingColumn(),
            TextColumn("{task.fields[note]}"),
            console=console,
        )
        self.task: Any = None

    def __enter__(self) -> _Bar:
        if self.report is None:
            self.bar.__enter__()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        if self.report is None:
            self.bar.__exit__(kind, error, traceback)

    def __call__(self, stage: str, done: int, total: int, note: str = "") -> None:
        if self.report is not None:
            self.clock.tick(stage)
            self.report(stage, done, total, note)
            return
        if self.clock.tick(stage):
            self.task = self.bar.add_task(stage, total=total, note=note)
        if note:
            self.bar.update(self.task, completed=done, total=total, note=note)
        else:
            self.bar.update(self.task, completed=done, total=total)
