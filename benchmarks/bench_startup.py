"""Start-up time of `learnapp --help` and `learnapp validate`, whole process, median of N runs.

    python benchmarks/bench_startup.py [--runs 15]

Also times a bare `python -c pass` in the same run as the floor any Python CLI pays, and
prints each command as a ratio to it. Targets on a 2-core machine: --help <= 0.25 s,
validate <= 0.35 s.
"""

from __future__ import annotations

import argparse
import json
import sys

from timing import learnapp_command, median_seconds

TARGETS = {"--help": 0.25, "validate": 0.35}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    baseline = median_seconds([sys.executable, "-c", "pass"], args.runs)
    results = {"python -c pass": {"median_s": round(baseline, 4)}}
    for argument, target in TARGETS.items():
        seconds = median_seconds([*learnapp_command(), argument], args.runs)
        results[f"learnapp {argument}"] = {
            "median_s": round(seconds, 4),
            "x_bare_python": round(seconds / baseline, 2),
            "target_s": target,
            "meets_target": seconds <= target,
        }
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
