"""How long a demo run will take on this device, said before it starts.

A run's work is counted in units: a demo module's own `work(config)` where it has one, else
`work` below (training images x epochs and samples x sampling steps, each weighted by the cost of
one UNet pass at the config's image size and widths). The device's speed comes from a ~50 ms
matmul probe: on a CPU, one thread's speed (steady even on a busy machine, where threads that
wait on each other make a two-thread probe swing a thousandfold), times the square root of the
threads (small convolutions share out poorly), divided by how busy the machine is (the 1-minute
load average per core, when above 1). Then

    expected seconds = QUICK_SECONDS[demo] x (REFERENCE_SPEED / speed)
                       x (FIXED + (1 - FIXED) x units / units of --quick)

(FIXED: the share of a quick run that does not grow with its work, such as figures and set-up).

QUICK_SECONDS are each quick preset's seconds (the run itself, imports excluded) on the reference
machine, an idle 2-core CPU whose speed reads REFERENCE_SPEED; they are the figures the demo
screen and the README quote. Every run records expected and actual seconds in metrics.json, and
`benchmarks/bench_demo_quick.py --all` prints the QUICK_SECONDS its runs imply, to recalibrate.

Importable without torch (the demo screen reads QUICK_SECONDS); the probe imports it when called.
"""

from __future__ import annotations

import os
import statistics
import time
from typing import Any

REFERENCE = "a 2-core CPU"
REFERENCE_SPEED = 145.0  # `speed` of the reference machine, idle: one thread's 103 GFLOP/s x sqrt(2)
QUICK_SECONDS = {  # quick preset on the reference machine, idle, empty model cache, imports excluded
    # implied by `python benchmarks/bench_demo_quick.py --all --repeat 1` on an idle 2-core CPU
    "noise-corruption": 2.9,
    "unet-training": 53.0,
    "cfg": 38.2,
    "ddim-inversion": 35.1,
    "audio-spectrograms": 38.9,
    "fine-tuning-guidance": 36.9,
    "latent-diffusion": 52.1,
}
FIXED = 0.15  # share of a quick run's time that does not scale with its work units
PROBE_SIZE = 256  # matrix side: 34 MFLOP per product, under a millisecond on a CPU core pair


def work(config: Any) -> float:
    """Generic work units of a demo's config, from the fields the diffusion demos share (absent ones count 0)."""
    examples = getattr(config, "train_images", 0) or getattr(config, "train_clips", 0)
    trained = examples * getattr(config, "epochs", 0)
    sampled = getattr(config, "samples", 0) * getattr(config, "sampling_steps", 0)
    return 1.0 + (3 * trained + sampled) * unet_pass(config)  # a training step: forward and backward, ~3 passes


def unet_pass(config: Any) -> float:
    """Units of one UNet2DModel forward pass on one image: pixels x squared widths, a quarter per level down."""
    size = getattr(config, "image_size", 28)
    channels = getattr(config, "unet_channels", (32, 64, 64))
    layers = getattr(config, "layers_per_block", 2)
    return size**2 * sum(c * c * (2 * layers + 1) / 4**level for level, c in enumerate(channels)) / 1e6


def probe_gflops(device: Any, seconds: float = 0.05) -> float:
    """Matmul speed now (GFLOP/s), on one thread on a CPU: the median of `PROBE_SIZE` products over about `seconds`."""
    import torch

    cpu = torch.device(device).type == "cpu"
    threads = torch.get_num_threads()
    if cpu:
        torch.set_num_threads(1)
    try:
        a = torch.randn(PROBE_SIZE, PROBE_SIZE, device=device)
        b = torch.randn(PROBE_SIZE, PROBE_SIZE, device=device)
        sync = torch.cuda.synchronize if torch.device(device).type == "cuda" else (lambda: None)
        a @ b  # first call: allocation, library start-up
        sync()
        rates: list[float] = []
        ends = time.perf_counter() + seconds
        while time.perf_counter() < ends or len(rates) < 5:
            started = time.perf_counter()
            a @ b
            sync()
            rates.append(2 * PROBE_SIZE**3 / max(time.perf_counter() - started, 1e-9) / 1e9)
    finally:
        torch.set_num_threads(threads)
    return statistics.median(rates)


def busy_factor() -> float:
    """How many times slower a CPU run goes for the other processes: the 1-minute load average per core, if above 1."""
    try:
        load = os.getloadavg()[0]
    except (AttributeError, OSError):  # Windows has no load average
        return 1.0
    return max(1.0, load / (os.cpu_count() or 1))


def speed(gflops: float, device_type: str, threads: int, busy: float) -> float:
    """The probe's figure turned into this run's speed, in REFERENCE_SPEED's terms."""
    if device_type != "cpu":
        return gflops
    return gflops * threads**0.5 / busy


def expected_seconds(demo: str, units: float, quick_units: float, speed: float) -> float | None:
    """Seconds a run of `units` should take at `speed`; None for a demo with no reference figure."""
    if demo not in QUICK_SECONDS:
        return None
    return QUICK_SECONDS[demo] * (REFERENCE_SPEED / speed) * (FIXED + (1 - FIXED) * units / quick_units)


def quick_seconds_implied(actual: float, units: float, quick_units: float, speed: float) -> float:
    """The QUICK_SECONDS figure a run that took `actual` seconds implies (the inverse of `expected_seconds`)."""
    return actual * (speed / REFERENCE_SPEED) / (FIXED + (1 - FIXED) * units / quick_units)


def describe(seconds: float) -> str:
    """'about 40 s', 'about 3 min', 'about 2.5 h': as precise as an estimate within 2x deserves."""
    if seconds < 90:
        return f"about {max(1, round(seconds / 5) * 5 if seconds > 20 else round(seconds))} s"
    if seconds < 90 * 60:
        return f"about {round(seconds / 60)} min"
    return f"about {seconds / 3600:.1f} h"


def quick_reference(demo: str) -> str:
    """The quick preset's time on the reference machine, in words: 'about 45 s on a 2-core CPU'."""
    return f"{describe(QUICK_SECONDS[demo])} on {REFERENCE}" if demo in QUICK_SECONDS else "time unknown"
