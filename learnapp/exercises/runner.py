"""Check a learner's file safely: in a child process with a time limit, the verdict back as JSON.

The child (`python -m learnapp.exercises.child`) loads the checker, says when it is ready, then
imports the learner's file and runs the check; an infinite loop is killed at the limit, a crash (os._exit,
a signal, running out of memory) is reported as such, and nothing the child does can hang or kill the caller.
A syntax error is found here, without starting the child (compiling runs none of the learner's code).
"""

from __future__ import annotations

import contextlib
import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from learnapp.exercises.catalog import Exercise
from learnapp.exercises.verdict import Verdict

# The learner's code gets TIME_LIMIT_S once the reference is ready; loading torch, diffusers and the
# reference's answers before that (5 s on a laptop, far more on a busy machine) has its own limit.
TIME_LIMIT_S = 10.0
START_LIMIT_S = 180.0


def syntax_error(name: str, path: Path) -> Verdict | None:
    try:
        compile(path.read_bytes(), str(path), "exec")
    except SyntaxError as exc:
        location = f"{path}:{exc.lineno}"
        pointer = f"\n{exc.text.rstrip()}" if exc.text else ""
        return Verdict(
            name,
            "syntax",
            f"syntax error at {location}: {exc.msg}",
            f"{location}: {exc.msg}{pointer}",
            location=location,
        )
    return None


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Kill the child and anything it started (it leads its own process group)."""
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def _died(name: str, code: int, output: str) -> Verdict:
    cause = f"was killed by {signal.Signals(-code).name}" if code < 0 else f"exited with status {code}"
    tail = "\n".join(output.strip().splitlines()[-8:])
    return Verdict(name, "crashed", f"the check's process {cause} before reporting (a crash in your code?)", tail)


def check_file(exercise: Exercise, path: Path, time_limit: float = TIME_LIMIT_S) -> Verdict:
    """The verdict on the learner's file `path` for `exercise`; never raises for what the file does."""
    started = time.monotonic()
    if not path.is_file():
        return Verdict(exercise.name, "error", f"no file at {path}")
    verdict = syntax_error(exercise.name, path)
    if verdict is None:
        verdict = _run_child(exercise, path, time_limit)
    return Verdict(**{**verdict.to_dict(), "exercise": exercise.name, "seconds": round(time.monotonic() - started, 3)})


def _wait_ready(ready: int, limit: float) -> bool | None:
    """True once the child says its reference is ready; False if it died first; None after `limit`."""
    readable, _, _ = select.select([ready], [], [], limit)
    if not readable:
        return None
    return os.read(ready, 1) == b"r"  # b"": the pipe closed, the child is gone


def _run_child(exercise: Exercise, path: Path, time_limit: float) -> Verdict:
    with tempfile.TemporaryDirectory(prefix="learnapp-check-") as folder:
        result = Path(folder) / "verdict.json"
        log = Path(folder) / "output.txt"
        ready, tell = os.pipe()
        try:
            with log.open("w") as output:
                process = subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "learnapp.exercises.child",
                        exercise.checker,
                        str(path),
                        str(result),
                        str(tell),
                    ],
                    stdin=subprocess.DEVNULL,
                    stdout=output,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,
                    cwd=path.parent,
                    pass_fds=(tell,),
                )
                os.close(tell)
                try:
                    started = _wait_ready(ready, START_LIMIT_S)
                    if started is None:
                        _stop(process)
                        return Verdict(
                            exercise.name,
                            "timeout",
                            f"the check did not start within {START_LIMIT_S:g} s (loading torch)",
                            "Is the machine very busy? Try again.",
                        )
                    code = process.wait(timeout=time_limit)
                except subprocess.TimeoutExpired:
                    _stop(process)
                    return Verdict(
                        exercise.name,
                        "timeout",
                        f"your code ran over {time_limit:g} s: an endless loop?",
                        "The check was stopped. Look for a loop that never ends in your file.",
                    )
                except BaseException:  # Ctrl-C while checking: the child goes too
                    _stop(process)
                    raise
        finally:
            os.close(ready)
        if code == 0 and result.is_file():
            try:
                return Verdict.from_dict(json.loads(result.read_text()))
            except (ValueError, TypeError):
                pass
        return _died(exercise.name, code, log.read_text(errors="replace"))
