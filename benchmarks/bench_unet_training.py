"""Training throughput of the unet-training demo against the course's recipe, in one process on one device.

The course recipe (unit 1): the same UNet2DModel (by default the course's: 32, 64, 64 channels,
attention), fp32, eager,
batch 128, Adam 1e-3, a DataLoader over images in host memory copied to the device every step,
`loss.item()` every step. The demo: `unet_training.Config()` (the full preset, or what the
options below change), trained by `demos.training.train`: data on the device, bf16 autocast,
channels_last and torch.compile on CUDA, batch 256 at a constant 3e-3.

Both train the noise-prediction objective on the same images for the same number of epochs, then
are scored on the same evaluation images (the same images, noise and timesteps for both, fp32), so
"equal or lower loss" compares like with like. Throughput leaves out each run's first steps
(compilation, cuDNN autotuning); wall seconds include them.

    python benchmarks/bench_unet_training.py                      # GPU: 3 epochs of 60,000, as the course
    python benchmarks/bench_unet_training.py --device cpu --train-images 1024 --epochs 1
    python benchmarks/bench_unet_training.py --out result.json    # also write the JSON to a file

Prints one JSON object: device, images, per arm images/s, seconds, eval loss; the speed-up and
the loss ratio (demo / course; the targets: speed-up >= 5 on a GPU, loss ratio <= 1).
"""

from __future__ import annotations

import argparse
import sys
import time

import torch
import torch.nn.functional as F
from timing import emit

from learnapp.demos import config as config_options
from learnapp.demos import unet_training as demo
from learnapp.demos import unets
from learnapp.demos.base import no_progress
from learnapp.demos.data import ImageSet, load_images
from learnapp.demos.device import Runtime, resolve
from learnapp.demos.noising import noise_loss
from learnapp.demos.training import final_loss

COURSE_BATCH, COURSE_LR = 128, 1e-3


def course_recipe(config: demo.Config, data: ImageSet, runtime: Runtime) -> tuple[torch.nn.Module, dict]:
    """The course notebook's loop, kept as it is (only the data comes from the same tensor)."""
    torch.manual_seed(config.seed)
    net = unets.make_unet2d(config).to(runtime.device)  # the same architecture as the demo's arm
    scheduler = unets.make_scheduler(config)
    dataset = torch.utils.data.TensorDataset(data.images.cpu())
    loader = torch.utils.data.DataLoader(dataset, batch_size=COURSE_BATCH, shuffle=True, drop_last=True)
    optimizer = torch.optim.Adam(net.parameters(), lr=COURSE_LR)
    losses = []
    warm = min(20, config.epochs * len(loader) // 5)
    started = timed_from = time.perf_counter()
    for _ in range(config.epochs):
        for (pixels,) in loader:
            x = pixels.to(runtime.device).float() / 255 * 2 - 1
            noise = torch.randn_like(x)
            timesteps = torch.randint(0, scheduler.config.num_train_timesteps, (x.shape[0],), device=runtime.device)
            noisy_x = scheduler.add_noise(x, noise, timesteps)
            pred = net(noisy_x, timesteps).sample
            loss = F.mse_loss(pred, noise)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            losses.append(loss.item())
            if len(losses) == warm:
                timed_from = time.perf_counter()
    ended = time.perf_counter()
    images = len(losses) * COURSE_BATCH
    return net.eval(), {
        "images": images,
        "seconds": ended - started,
        "images_per_second": (len(losses) - warm) * COURSE_BATCH / (ended - timed_from),
        "train_loss_last_tenth": sum(losses[-max(1, len(losses) // 10) :]) / max(1, len(losses) // 10),
        "batch_size": COURSE_BATCH,
        "learning_rate": COURSE_LR,
        "precision": "fp32",
        "compile": False,
    }


def demo_recipe(config: demo.Config, data: ImageSet, runtime: Runtime) -> tuple[torch.nn.Module, dict]:
    pipeline, log = demo.train_unet2d(config, data, runtime, no_progress)
    return pipeline.unet, {
        "images": log.images,
        "seconds": log.seconds,
        "images_per_second": log.images_per_second,
        "train_loss_last_tenth": final_loss(log),
        "batch_size": config.batch_size,
        "learning_rate": config.learning_rate,
        "precision": runtime.mixed_precision,
        "compile": runtime.compile,
    }


@torch.no_grad()
def eval_loss(model: torch.nn.Module, config: demo.Config, scored: ImageSet, device: torch.device) -> float:
    """Noise-prediction MSE in fp32 on fixed images, noise and timesteps (the same for every model)."""
    loss_fn = noise_loss(unets.make_scheduler(config))
    generator = torch.Generator(device).manual_seed(12345)
    total = 0.0
    for start in range(0, len(scored), 256):
        index = slice(start, start + 256)
        batch = scored.floats(index)
        total += loss_fn(model.float(), batch, scored.labels[index], generator).item() * len(batch)
    return total / len(scored)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--eval-images", type=int, default=2048, help="held-out images for the loss (default 2048)")
    parser.add_argument("--out", help="also write the JSON result to this file")
    config_options.add_options(parser, demo.Config, demo.Config(), demo.Config.quick())
    args = parser.parse_args(argv)
    config = config_options.from_args(demo.Config, args, quick=False)
    runtime = resolve(config.device, config.precision, config.compile)
    data = load_images(config.dataset, config.image_size, config.train_images, config.seed, runtime.device)
    # Another seed: for digits, other strokes and poses of the scans; for MNIST, the same first images.
    scored = load_images(config.dataset, config.image_size, args.eval_images, config.seed + 1, runtime.device)

    result: dict = {
        "device": runtime.describe(),
        "torch": torch.__version__,
        "epochs": config.epochs,
        "train_images": config.train_images,
        "image_size": config.image_size,
        "dataset": config.dataset,
    }
    for arm, recipe in (("course", course_recipe), ("demo", demo_recipe)):
        model, stats = recipe(config, data, runtime)
        stats["eval_loss"] = eval_loss(model, config, scored, runtime.device)
        result[arm] = stats
        print(f"{arm}: {stats['images_per_second']:,.0f} images/s, eval loss {stats['eval_loss']:.4f}", file=sys.stderr)
        del model
        if runtime.device.type == "cuda":
            torch.cuda.empty_cache()
    result["speedup"] = result["demo"]["images_per_second"] / result["course"]["images_per_second"]
    result["eval_loss_ratio"] = result["demo"]["eval_loss"] / result["course"]["eval_loss"]
    emit(result, args.out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
