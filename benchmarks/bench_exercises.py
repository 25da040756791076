"""How long each exercise's check takes, after imports (target: <= 1 s each on a 2-core CPU).

Times the check of every reference solution in one process, the way the check's child runs it
(`learnapp.exercises.child.check`: the reference's answers, the learner's function, the comparison),
after importing torch, diffusers and every checker: first once (the first call pays one-off costs
such as numba compiling librosa's functions), then the median of `--runs` calls. Also times the whole child process once, for
scale (interpreter start and the torch/diffusers imports dominate it).

    .venv/bin/python benchmarks/bench_exercises.py
    .venv/bin/python benchmarks/bench_exercises.py --runs 9 --out bench_exercises.json
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

from timing import emit, run_seconds

TARGET_S = 1.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--out", help="also write the JSON result here")
    args = parser.parse_args()

    started = time.perf_counter()
    import diffusers  # noqa: F401
    import torch  # noqa: F401

    from learnapp.exercises import checks
    from learnapp.exercises.catalog import load_exercises
    from learnapp.exercises.child import check

    for name in checks.CHECKERS:  # each family's imports (AutoencoderKL pulls in accelerate, audio librosa)
        checks.load(name)
    imports = time.perf_counter() - started
    rows = []
    for exercise in load_exercises():
        times = []
        for _ in range(args.runs + 1):
            start = time.perf_counter()
            verdict = check(exercise.checker, exercise.solution)
            times.append(time.perf_counter() - start)
            if not verdict.passed:
                sys.exit(f"{exercise.name}: the reference solution fails:\n{verdict.text()}")
        rows.append(
            {
                "exercise": exercise.name,
                "first_s": round(times[0], 4),
                "median_s": round(statistics.median(times[1:]), 4),
            }
        )
    exercise = load_exercises()[0]
    code = (
        f"from pathlib import Path; from learnapp.exercises.child import check; "
        f"assert check({exercise.checker!r}, Path({str(exercise.solution)!r})).passed"
    )
    child = run_seconds([sys.executable, "-c", code])

    print(f"{'exercise':<20} {'first (s)':>10} {'median (s)':>11}")
    for row in rows:
        print(f"{row['exercise']:<20} {row['first_s']:>10.3f} {row['median_s']:>11.3f}")
    print(
        f"imports (torch, diffusers, the checkers): {imports:.2f} s; a whole check process ({exercise.name}): {child:.2f} s"
    )
    slowest = max(row["median_s"] for row in rows)
    print(f"slowest median {slowest:.3f} s: {'within' if slowest <= TARGET_S else 'OVER'} the {TARGET_S:g} s target")
    emit(
        {
            "runs": args.runs,
            "imports_s": round(imports, 3),
            "child_process_s": round(child, 3),
            "target_s": TARGET_S,
            "checks": rows,
        },
        args.out,
    )


if __name__ == "__main__":
    main()
