"""Wall time of `learnapp demo NAME --quick`, the whole process, as a learner runs it.

Each repeat starts a fresh process (imports included) writing into a temporary folder; the
median is reported next to the median of a baseline process that only imports what every demo
imports (torch, diffusers, accelerate), so the share of start-up cost is visible. The target
for the quick presets is 60 s on a 2-core CPU.

Every run starts with an empty model cache, as a learner's first run does (ddim-inversion and
fine-tuning-guidance then train cfg's models first). With --warm the runs share one cache that an untimed run filled:
the cost of running a demo again, or ddim-inversion after cfg.

    python benchmarks/bench_demo_quick.py unet-training
    python benchmarks/bench_demo_quick.py --all --repeat 1
    python benchmarks/bench_demo_quick.py ddim-inversion --warm
    python benchmarks/bench_demo_quick.py fine-tuning-guidance
    python benchmarks/bench_demo_quick.py latent-diffusion
    python benchmarks/bench_demo_quick.py noise-corruption --repeat 5 --device cpu --out quick.json

Prints one JSON object per demo (a list with --all): per-run seconds, medians, the ratio to the
baseline, each run's stage timings and run-time estimate from metrics.json, the figures the demo
reports (e.g. losses), and the `estimates.QUICK_SECONDS` figure the runs imply (to recalibrate
the estimate: runs on the reference machine, empty cache).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
from pathlib import Path

from timing import emit, run_seconds

BASELINE = "import torch, diffusers, accelerate; from diffusers import UNet2DModel, DDPMScheduler"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("demo", nargs="?", help="a demo name, e.g. unet-training")
    parser.add_argument("--all", action="store_true", help="every demo, one after the other")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each process (default 3)")
    parser.add_argument("--device", default="cpu", help="passed to demos that take --device (default cpu)")
    parser.add_argument("--warm", action="store_true", help="trained models cached by an untimed first run")
    parser.add_argument("--out", help="also write the JSON result to this file")
    args = parser.parse_args(argv)

    from learnapp.demos import DEMOS

    if args.all == bool(args.demo):
        parser.error("name one demo, or --all")
    baseline = [run_seconds([sys.executable, "-c", BASELINE]) for _ in range(args.repeat)]
    results = [bench(demo, args, baseline) for demo in (DEMOS if args.all else [args.demo])]
    emit({"demos": results} if args.all else results[0], args.out)
    return 0


def bench(demo: str, args: argparse.Namespace, baseline: list[float]) -> dict:
    """Time `demo`'s quick preset `args.repeat` times, each in a fresh process."""
    from learnapp.demos import estimates, runner

    takes_device = "device" in runner.load(demo).Config.__dataclass_fields__
    runs, records = [], []
    with tempfile.TemporaryDirectory() as folder:
        runs_dir, shared_cache = Path(folder, "runs"), Path(folder, "cache")
        command = [sys.executable, "-m", "learnapp.cli", "demo", demo, "--quick"]
        command += ["--device", args.device] if takes_device else []
        if args.warm:
            run_seconds([*command, "--out", str(Path(folder, "warm-up"))], _with_cache(shared_cache))
        for attempt in range(args.repeat):
            cache = shared_cache if args.warm else Path(folder, f"cache-{attempt}")
            runs.append(run_seconds([*command, "--out", str(runs_dir)], _with_cache(cache)))
        for metrics in sorted(Path(runs_dir, demo).glob("*/metrics.json")):
            record = json.loads(metrics.read_text())
            records.append({key: record.get(key, {}) for key in ("timings", "estimate", "metrics", "device")})

    implied = [
        estimates.quick_seconds_implied(e["actual_seconds"], e["work_units"], e["quick_work_units"], e["speed"])
        for e in (r["estimate"] for r in records)
        if e
    ]
    return {
        "demo": demo,
        "model_cache": "warm" if args.warm else "empty at the start of each run",
        "seconds": [round(s, 2) for s in runs],
        "median_seconds": round(statistics.median(runs), 2),
        "baseline_import_median_seconds": round(statistics.median(baseline), 2),
        "ratio_to_baseline": round(statistics.median(runs) / statistics.median(baseline), 2),
        "target_seconds": 60,
        "expected_seconds": [r["estimate"].get("expected_seconds") for r in records],
        "quick_seconds_implied": round(statistics.median(implied), 1) if implied else None,
        "quick_seconds_now": estimates.QUICK_SECONDS.get(demo),
        "runs": records,
    }


def _with_cache(folder: Path) -> dict[str, str]:
    return {**os.environ, "LEARNAPP_CACHE_DIR": str(folder)}


if __name__ == "__main__":
    sys.exit(main())
