"""End-to-end time of the cfg and ddim-inversion demos against the course's way of doing cfg's work.

Three timed arms, one after the other in one process on one device (CUDA is initialised first,
so no arm pays for it):

- demo: `cfg.run` with the preset, from an empty model cache: render the digits, train the
  class-conditioned UNet (data on the device, bf16 autocast on CUDA, batch 512, scaled LR) and the
  judging classifier, sample the guidance sweep with 50-step DDIM, judge it, draw the figures.
- course: the course's class-conditioned recipe for the same model and images: fp32, eager,
  batch 128, Adam 1e-3, a DataLoader from host memory, `loss.item()` every step, 10 epochs
  (`--course-epochs`); then the same sweep (same scales, labels, starting noise, guidance formula)
  with 1000-step ancestral DDPM sampling (`--course-sampling-steps`), judged by the demo's classifier.
- ddim-inversion: `ddim_inversion.run` with the preset, reusing the models the demo arm cached.

Prints progress to stderr and one JSON object to stdout: seconds of each arm, the course/demo
ratios (end to end and training alone), class accuracy per guidance scale for both.

    python benchmarks/bench_guidance.py --out guidance.json                 # GPU: full presets (the target: demo <= 60 s)
    python benchmarks/bench_guidance.py --course-epochs 2 --course-sampling-steps 250   # less course work
    python benchmarks/bench_guidance.py --preset quick --device cpu --course-epochs 1 --course-sampling-steps 100

Every cfg option (`--batch-size`, `--compile on`, ...) is accepted and applies to the demo arm and the
models both demos use; `--course-*` only to the course arm.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import torch
from timing import emit

from learnapp.demos import cfg, classifier, conditioning, ddim_inversion, guidance, unets
from learnapp.demos import config as config_options
from learnapp.demos.base import Result
from learnapp.demos.data import load_images, to_pixels
from learnapp.demos.device import Runtime, resolve

COURSE_BATCH, COURSE_LR, COURSE_EPOCHS, COURSE_SAMPLING_STEPS = 128, 1e-3, 10, 1000


def say(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


class StagePrinter:
    """A demo `Progress` that prints each new stage with the time the last one took."""

    def __init__(self, arm: str):
        self.arm, self.stage, self.since = arm, "", time.perf_counter()

    def __call__(self, stage: str, done: int, total: int, note: str = "") -> None:
        if stage != self.stage:
            now = time.perf_counter()
            if self.stage:
                say(f"{self.arm}: {self.stage} done in {now - self.since:.1f} s")
            self.stage, self.since = stage, now


def timed(runtime: Runtime, work: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = work()
    if runtime.device.type == "cuda":
        torch.cuda.synchronize()
    return result, time.perf_counter() - started


def course_training(config: cfg.Config, runtime: Runtime, epochs: int, progress: StagePrinter) -> tuple[Any, dict]:
    """The course notebook's loop (unit 2, class-conditioned), with the demo's objective and label dropout."""
    progress("train UNet, course recipe", 0, 1)
    device = runtime.device
    data = load_images(config.dataset, config.image_size, config.train_images, config.seed, "cpu", split="train")
    loader = torch.utils.data.DataLoader(
        torch.utils.data.TensorDataset(data.images, data.labels), batch_size=COURSE_BATCH, shuffle=True
    )
    torch.manual_seed(config.seed)
    scheduler = unets.make_scheduler(config)  # DDPMScheduler, as the demo trains with
    net = unets.make_unet2d(config, num_class_embeds=conditioning.CLASSES + 1).to(device)
    loss_fn = conditioning.guidance_loss(scheduler, config.label_dropout)
    generator = torch.Generator(device).manual_seed(config.seed)
    optimizer = torch.optim.Adam(net.parameters(), lr=COURSE_LR)
    losses = []
    for epoch in range(epochs):
        for pixels, labels in loader:
            loss = loss_fn(net, pixels.to(device).float() / 255, labels.to(device), generator)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
        say(f"course: epoch {epoch + 1}/{epochs}, mean loss {sum(losses[-len(loader) :]) / len(loader):.4f}")
    return (net.eval(), scheduler), {"images": len(losses) * COURSE_BATCH, "final_loss": losses[-1]}


@torch.no_grad()
def course_sweep(config: cfg.Config, net: Any, scheduler: Any, judge: Any, runtime: Runtime, steps: int) -> list[dict]:
    """The demo's sweep, sampled the course's way: ancestral DDPM, `steps` steps, fp32."""
    wanted = torch.arange(conditioning.CLASSES, device=runtime.device).repeat_interleave(config.samples_per_class)
    generator = torch.Generator(runtime.device).manual_seed(config.seed)
    size = config.image_size
    noise = torch.randn(len(wanted), 1, size, size, generator=generator, device=runtime.device)
    scheduler.set_timesteps(steps)
    rows = []
    for scale in config.guidance_scales:
        x = noise
        for t in scheduler.timesteps:
            x = scheduler.step(guidance.predict_noise(net, x, t, wanted, scale), t, x, generator=generator).prev_sample
        predicted, _ = classifier.judge(judge, to_pixels(x))
        rows.append({"scale": scale, "accuracy": classifier.accuracy(predicted, wanted)})
        say(f"course: sampled scale {scale:g} with {steps} DDPM steps, accuracy {rows[-1]['accuracy']:.1%}")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--preset", choices=("full", "quick"), default="full", help="the demos' preset (default: full)")
    parser.add_argument("--course-epochs", type=int, default=COURSE_EPOCHS, help="course arm epochs (default: 10)")
    parser.add_argument(
        "--course-sampling-steps", type=int, default=COURSE_SAMPLING_STEPS, help="course arm DDPM steps (default: 1000)"
    )
    parser.add_argument("--out", help="also write the JSON result to this file")
    config_options.add_options(parser, cfg.Config, cfg.Config(), cfg.Config.quick())
    args = parser.parse_args(argv)
    quick = args.preset == "quick"
    config = config_options.from_args(cfg.Config, args, quick)
    model_fields = {f.name: getattr(config, f.name) for f in dataclasses.fields(conditioning.ModelConfig)}
    inversion_config = dataclasses.replace(
        ddim_inversion.Config.quick() if quick else ddim_inversion.Config(), **{**model_fields, "retrain": False}
    )
    if not 1 <= args.course_sampling_steps <= config.num_train_timesteps:
        parser.error(f"--course-sampling-steps: between 1 and --num-train-timesteps ({config.num_train_timesteps})")

    runtime = resolve(config.device, config.precision, config.compile)
    torch.zeros(1, device=runtime.device).sum().item()  # CUDA context, outside every arm's time
    result: dict[str, Any] = {
        "device": runtime.describe(),
        "torch": torch.__version__,
        "preset": args.preset,
        "config": dataclasses.asdict(config),
    }

    with tempfile.TemporaryDirectory(prefix="bench-guidance-") as scratch:
        os.environ["LEARNAPP_CACHE_DIR"] = str(Path(scratch) / "cache")  # empty: the demo arm trains

        say(f"demo: cfg {args.preset} preset on {runtime.name}, training included")
        demo: Result
        demo, seconds = timed(runtime, lambda: cfg.run(config, Path(scratch), StagePrinter("demo")))
        result["demo"] = {
            "seconds": seconds,
            "train_unet_seconds": demo.metrics["models"]["unet"]["seconds"],
            "accuracy_at_default_scale": demo.metrics["accuracy_at_default_scale"],
            "sweep": [
                {k: row[k] for k in ("scale", "accuracy", "diversity", "frechet_distance")}
                for row in demo.metrics["sweep"]
            ],
            "classifier_test_accuracy": demo.metrics["classifier_test_accuracy"],
        }
        say(
            f"demo: {seconds:.1f} s end to end, accuracy {demo.metrics['accuracy_at_default_scale']:.1%} "
            f"at scale {config.guidance_scale:g}"
        )

        say("ddim-inversion: preset, models from the demo arm's cache")
        inversion, seconds = timed(
            runtime, lambda: ddim_inversion.run(inversion_config, Path(scratch), StagePrinter("ddim-inversion"))
        )
        result["ddim_inversion"] = {
            "seconds": seconds,
            "reconstruction": inversion.metrics["reconstruction"],
            "edit": inversion.metrics["edit"]["by_start_step"],
        }
        say(f"ddim-inversion: {seconds:.1f} s")

        judge = conditioning.pretrained_models(config, runtime, StagePrinter("load")).classifier
        say(
            f"course: {args.course_epochs} epochs at batch {COURSE_BATCH}, fp32, eager, "
            f"then {args.course_sampling_steps}-step DDPM for each of {len(config.guidance_scales)} scales"
        )
        started = time.perf_counter()
        (net, scheduler), training = course_training(config, runtime, args.course_epochs, StagePrinter("course"))
        if runtime.device.type == "cuda":
            torch.cuda.synchronize()
        train_seconds = time.perf_counter() - started
        sweep, sample_seconds = timed(
            runtime, lambda: course_sweep(config, net, scheduler, judge, runtime, args.course_sampling_steps)
        )
        default = next(row for row in sweep if row["scale"] == config.guidance_scale)
        result["course"] = {
            "seconds": train_seconds + sample_seconds,
            "train_unet_seconds": train_seconds,
            "sampling_seconds": sample_seconds,
            "epochs": args.course_epochs,
            "sampling_steps": args.course_sampling_steps,
            "batch_size": COURSE_BATCH,
            "learning_rate": COURSE_LR,
            **training,
            "accuracy_at_default_scale": default["accuracy"],
            "sweep": sweep,
        }

    result["speedup_end_to_end"] = result["course"]["seconds"] / result["demo"]["seconds"]
    result["speedup_training"] = result["course"]["train_unet_seconds"] / result["demo"]["train_unet_seconds"]
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
