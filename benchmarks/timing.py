"""Whole-process timing shared by the benchmark scripts."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import sys
import time


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
