"""Whole-process timing shared by the benchmark scripts."""

from __future__ import annotations

import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path


def learnapp_command() -> list[str]:
    """The installed console script, as a learner runs it."""
    script = shutil.which("learnapp") or os.path.join(os.path.dirname(sys.executable), "learnapp")
    return [script]


def median_seconds(command: list[str], runs: int, env: dict[str, str] | None = None) -> float:
    """Median wall time of `command` as a whole process, after one warm-up run (disk cache)."""
    times = []
    for attempt in range(runs + 1):
        start = time.perf_counter()
        subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
        if attempt:
            times.append(time.perf_counter() - start)
    return statistics.median(times)


def run_seconds(command: list[str], env: dict[str, str] | None = None) -> float:
    """Wall time of one whole process; a failed run ends the benchmark with its error output."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - started
    if done.returncode != 0:
        sys.exit(f"{' '.join(command)} failed ({done.returncode}):\n{done.stderr[-2000:]}")
    return seconds


def emit(result: dict, out: str | None) -> None:
    """Print the result as JSON and, with --out, keep the same text in a file."""
    text = json.dumps(result, indent=2)
    print(text)
    if out:
        Path(out).write_text(text + "\n", encoding="utf-8")
