"""Wall time of `learnapp demo audio-spectrograms`, the whole process, quick or full preset, and what it measured.

Each repeat is a fresh process (imports included) writing into a temporary folder, as a learner
runs it (`bench_demo_quick.timed`). Reported: per-run and median seconds, the median of each
stage (from metrics.json), and the figures the runs measured: round-trip errors, training
throughput and losses. The quick preset's target is 60 s on a 2-core CPU; the full preset is
meant for a GPU.

    python benchmarks/bench_audio.py                                  # quick preset, CPU, 3 runs
    python benchmarks/bench_audio.py --preset full --device cuda --repeat 1
    python benchmarks/bench_audio.py --out audio.json                 # also write the JSON to a file

Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import tempfile
from pathlib import Path

from timing import emit, run_seconds

DEMO = "audio-spectrograms"
TARGET_QUICK_CPU_SECONDS = 60


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=("quick", "full"), default="quick")
    parser.add_argument("--device", default="cpu", help="auto, cuda, mps or cpu (default cpu)")
    parser.add_argument("--repeat", type=int, default=3, help="runs (default 3)")
    parser.add_argument("--out", help="also write the JSON result to this file")
    args = parser.parse_args(argv)

    command = [sys.executable, "-m", "learnapp.cli", "demo", DEMO, "--device", args.device]
    if args.preset == "quick":
        command.append("--quick")
    seconds, cpu_seconds = [], []
    with tempfile.TemporaryDirectory() as folder:
        for _ in range(args.repeat):
            before = _children_cpu_seconds()
            seconds.append(run_seconds([*command, "--out", folder]))
            cpu_seconds.append(_children_cpu_seconds() - before)
        records = [json.loads(path.read_text()) for path in sorted(Path(folder, DEMO).glob("*/metrics.json"))]

    stages = {
        stage: round(statistics.median(r["timings"][stage] for r in records), 2) for stage in records[0]["timings"]
    }
    last = records[-1]["metrics"]
    result = {
        "demo": DEMO,
        "preset": args.preset,
        "device": records[-1]["device"],
        "seconds": [round(s, 2) for s in seconds],
        "median_seconds": round(statistics.median(seconds), 2),
        # User + system CPU time of the process: on a busy machine, the closer guide to an idle one's wall time.
        "cpu_seconds": [round(s, 2) for s in cpu_seconds],
        "load_average_1min": round(os.getloadavg()[0], 2),
        "target_seconds": TARGET_QUICK_CPU_SECONDS if args.preset == "quick" else None,
        "median_stage_seconds": stages,
        "roundtrip_errors": last["roundtrip"]["errors"],
        "training": {
            key: last["training"][key]
            for key in (
                "clips",
                "image_size",
                "parameters",
                "images",
                "images_per_second",
                "epoch_losses",
                "final_loss",
            )
        },
        "generated": last["generated"],
    }
    emit(result, args.out)
    return 0


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


if __name__ == "__main__":
    sys.exit(main())
