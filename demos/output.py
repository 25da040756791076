"""What a demo leaves behind: metrics.json, image grids and GIFs, in its run folder (`runs.py`).

`metrics.json` is written when the run starts (status "running", and the process that runs
it) and rewritten when it ends: "complete", or "incomplete" after Ctrl-C or an error, listing
what was written by then. A run killed outright cannot write its end: `runs.run_status` tells.
"""

from __future__ import annotations

import json
import math
import os
import platform
import sys
from collections.abc import Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np

METRICS_FILE = "metrics.json"
LIBRARIES = ("learnapp", "torch", "diffusers", "accelerate", "numpy")


def library_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in LIBRARIES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def write_json(path: Path, data: dict[str, Any]) -> None:
    """Write through a temporary file, so a reader never sees half a file."""
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(json.dumps(data, indent=2, default=_jsonable) + "\n", encoding="utf-8")
    os.replace(tmp, path)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, tuple | set):
        return list(value)
    if hasattr(value, "item"):  # numpy and torch scalars
        return value.item()
    raise TypeError(f"cannot write {type(value).__name__} to JSON")


def to_uint8(images: Any) -> np.ndarray:
    """Images in [0, 1] (torch or numpy, N x C x H x W or N x H x W) as uint8 N x H x W (x 3)."""
    array = images.detach().float().cpu().numpy() if hasattr(images, "detach") else np.asarray(images, dtype=float)
    if array.ndim == 4:
        array = array[:, 0] if array.shape[1] == 1 else array.transpose(0, 2, 3, 1)
    return (np.clip(array, 0, 1) * 255).round().astype(np.uint8)


def tile(images: Any, columns: int | None = None, pad: int = 2) -> np.ndarray:
    """One uint8 picture of `images` in a grid, `pad` dark pixels between tiles."""
    tiles = to_uint8(images)
    n = len(tiles)
    columns = columns or math.ceil(math.sqrt(n))
    rows = math.ceil(n / columns)
    h, w = tiles.shape[1:3]
    canvas = np.full((rows * (h + pad) + pad, columns * (w + pad) + pad, *tiles.shape[3:]), 40, np.uint8)
    for i, picture in enumerate(tiles):
        r, c = divmod(i, columns)
        canvas[pad + r * (h + pad) : pad + r * (h + pad) + h, pad + c * (w + pad) : pad + c * (w + pad) + w] = picture
    return canvas


def save_grid(images: Any, path: Path, title: str, columns: int | None = None) -> Path:
    """A titled grid of images as a PNG, drawn large enough to read in an image viewer."""
    import matplotlib.pyplot as plt

    canvas = tile(images, columns)
    scale = max(1.0, 6.0 / max(canvas.shape[:2]) * 100)  # about 6 inches across at 100 dpi
    figure, axes = plt.subplots(figsize=(canvas.shape[1] * scale / 100, canvas.shape[0] * scale / 100 + 0.5))
    axes.imshow(canvas, cmap="gray", vmin=0, vmax=255, interpolation="nearest")
    axes.set_axis_off()
    axes.set_title(title, fontsize=10)
    return save_figure(figure, path)


def save_figure(figure: Any, path: Path) -> Path:
    import matplotlib.pyplot as plt

    figure.savefig(path, dpi=100, bbox_inches="tight")
    plt.close(figure)
    return path


def save_gif(
    frames: Sequence[Any],
    path: Path,
    labels: Sequence[str] = (),
    columns: int | None = None,
    scale: int = 3,
    seconds: float = 4.0,
    beside: Sequence[Any | None] = (),
) -> Path:
    """An animated GIF: each frame is a batch of images tiled into a grid, with an optional caption.
    With `beside`, a second batch per frame (the model's predictions, say) is tiled to the right of
    the first, or left dark where it is None. The last frame is held for a second, so the result
    can be seen before the loop restarts."""
    from PIL import Image, ImageDraw

    pictures = []
    for index, frame in enumerate(frames):
        canvas = tile(frame, columns)
        if beside:
            right = beside[index]
            other = tile(right, columns) if right is not None else np.full_like(canvas, 40)
            gap = np.full((canvas.shape[0], 6, *canvas.shape[2:]), 200, np.uint8)  # a light divider
            canvas = np.concatenate([canvas, gap, other], axis=1)
        picture = Image.fromarray(canvas).resize(
            (canvas.shape[1] * scale, canvas.shape[0] * scale), Image.Resampling.NEAREST
        )
        if index < len(labels):
            banner = 4 + 12 * (labels[index].count("\n") + 1)
            stacked = Image.new(picture.mode, (picture.width, picture.height + banner))
            stacked.paste(picture, (0, banner))
            ImageDraw.Draw(stacked).multiline_text((4, 2), labels[index], fill="white", spacing=2)
            picture = stacked
        pictures.append(picture.convert("P"))
    step_ms = max(20, int(seconds * 1000 / max(1, len(pictures))))
    durations = [step_ms] * (len(pictures) - 1) + [1000]
    pictures[0].save(path, save_all=True, append_images=pictures[1:], duration=durations, loop=0)
    return path


def plot_losses(ax: Any, losses: Sequence[float], epoch_losses: Sequence[float], batch_size: int) -> np.ndarray:
    """A training loss on `ax`: every step faintly, a moving mean, and each epoch's mean as a dot,
    on a log scale. Returns the steps that end each epoch, for anything drawn beside them."""
    values = np.asarray(losses)
    per_epoch = len(values) // len(epoch_losses)
    steps = np.arange(1, len(values) + 1)
    ax.plot(steps, values, color="tab:blue", alpha=0.3, linewidth=0.8, label="loss per step")
    window = max(1, len(values) // 30)
    smooth = np.convolve(values, np.ones(window) / window, mode="valid")
    ax.plot(steps[window - 1 :], smooth, color="tab:blue", label=f"mean of {window} steps")
    ends = per_epoch * np.arange(1, len(epoch_losses) + 1)
    ax.plot(ends, epoch_losses, "o", color="tab:red", markersize=4, label="epoch mean")
    ax.set_yscale("log")
    ax.set_xlabel(f"step (batch {batch_size}, {per_epoch} steps per epoch)")
    return ends


def python_command() -> str:
    """How this process was started, for metrics.json (a run can then be repeated)."""
    return " ".join([Path(sys.argv[0]).name, *sys.argv[1:]])
