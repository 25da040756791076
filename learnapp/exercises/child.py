"""The check's child process: `python -m learnapp.exercises.child CHECKER FILE RESULT.json [READY_FD]`.

First loads the checker (torch, diffusers, librosa) and computes the reference's answers, then
writes one byte to READY_FD, so the caller starts the learner's time limit only now; then imports
the learner's FILE, runs the checker on its function and writes the verdict as JSON to RESULT.json
(a file, so whatever the learner's code prints cannot garble it). Started by
`learnapp.exercises.runner`, which enforces the limits.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from pathlib import Path

from learnapp.exercises.verdict import Verdict, raised


def check(checker: str, path: Path, ready: int | None = None) -> Verdict:
    """The verdict on the learner's file; `ready` (a file descriptor) is told when the reference is ready."""
    from learnapp.exercises import checks
    from learnapp.exercises.compare import expected_values, run_check

    spec = checks.load(checker)
    prepared = expected_values(spec)
    if ready is not None:
        os.write(ready, b"r")
        os.close(ready)
    module_spec = importlib.util.spec_from_file_location(f"learner_{checker.replace('-', '_')}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # whatever the learner's file raises is reported
        return raised(checker, exc, path, "while importing your file")
    function = getattr(module, spec.function, None)
    if not callable(function):
        return Verdict(
            checker,
            "error",
            f"{path} defines no function {spec.function}()",
            f"Keep the starter's `def {spec.function}(...)`: the check calls it.",
        )
    return run_check(checker, spec, function, path, prepared)


def main(argv: list[str]) -> int:
    checker, path, result = argv[0], Path(argv[1]).resolve(), Path(argv[2])
    verdict = check(checker, path, int(argv[3]) if len(argv) > 3 else None)
    temporary = result.with_suffix(".tmp")
    temporary.write_text(json.dumps(verdict.to_dict()))
    os.replace(temporary, result)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
