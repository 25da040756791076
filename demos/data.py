"""Training images for the demos: handwritten digits that need no download, or MNIST.

`digits` (the default) ships with scikit-learn: 1,797 handwritten digits scanned at 8x8 with
16 grey levels. Each training image is drawn from one of them with a random affine map
(rotation, scale, shear, shift), bicubic upsampling to the requested size and a random stroke
width, so a run sees tens of thousands of distinct, MNIST-like digits centred in a 20/28 box.
Rendering happens on the run's device (a GPU renders 60,000 in milliseconds).

`mnist` is the course's data set. It is read from IDX files in `<cache>/mnist/` (gzipped or
not); when they are missing they are downloaded there once, from the mirrors below, and
checked against their SHA-256 sums before use.

Images are kept as a uint8 tensor on the device, so training never waits on a host-side
data loader; `ImageSet.floats(index)` turns a batch into floats in [0, 1].

`split` holds data out for evaluation: "test" is the last fifth of the 1,797 scans (digits) or
the last sixth of MNIST's training images (10,000), "train" the rest, "all" everything. A model
scored on "test" images has never seen those handwritten digits in any pose or stroke width.
"""

from __future__ import annotations

import gzip
import hashlib
import importlib.util
import math
import os
import tempfile
import urllib.request
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import torch
import torch.nn.functional as F

from learnapp import paths
from learnapp.errors import UserError

DatasetName = Literal["digits", "mnist"]
Split = Literal["all", "train", "test"]
DIGITS_TEST_FRACTION = 0.2

MNIST_MIRRORS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
MNIST_SHA256 = {
    "train-images-idx3-ubyte.gz": "440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
    "train-labels-idx1-ubyte.gz": "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
}
IDX_DTYPES: dict[int, npt.DTypeLike] = {
    0x08: np.uint8,
    0x09: np.int8,
    0x0B: ">i2",
    0x0C: ">i4",
    0x0D: ">f4",
    0x0E: ">f8",
}


@dataclass(frozen=True)
class ImageSet:
    images: torch.Tensor  # uint8, (N, 1, size, size), on the run's device
    labels: torch.Tensor  # int64, (N,), digit classes 0-9
    name: str
    # Rendered digits only (MNIST has none): float32 (N, 2), each image's stroke threshold (lower is
    # bolder) and forward slant (how far the top leans right, per unit of height), as `_augment` drew them.
    style: torch.Tensor | None = None

    def __len__(self) -> int:
        return self.images.shape[0]

    def floats(self, index: torch.Tensor | slice) -> torch.Tensor:
        """A batch as floats in [0, 1], the range the course's `corrupt` works in."""
        return self.images[index].float() / 255.0

    def of_classes(self, classes: Iterable[int], per_class: int) -> ImageSet:
        """The first `per_class` images of each class, class by class (fewer where the set has fewer)."""
        index = torch.cat([torch.nonzero(self.labels == c).flatten()[:per_class] for c in classes])
        return ImageSet(
            self.images[index], self.labels[index], self.name, None if self.style is None else self.style[index]
        )


def load_images(
    name: DatasetName, size: int, count: int, seed: int, device: torch.device | str = "cpu", split: Split = "all"
) -> ImageSet:
    """`count` images of `size` x `size` pixels from `split` (MNIST: the first `count` of it)."""
    if name == "digits":
        generator = torch.Generator(device).manual_seed(seed)
        return render_digits(count, size, generator, device, split=split)
    if name == "mnist":
        images, labels = load_mnist()
        held_out = len(images) * 5 // 6  # of the 60,000: 50,000 to train, 10,000 held out
        images, labels = images[_part(split, held_out)], labels[_part(split, held_out)]
        if count > len(images):
            where = "training images" if split == "all" else f"images in its {split} split"
            raise UserError(f"MNIST has {len(images)} {where}; asked for {count}")
        pixels = torch.tensor(images[:count], device=device).unsqueeze(1)
        if size != pixels.shape[-1]:
            pixels = resize(pixels, size)
        return ImageSet(pixels, torch.tensor(labels[:count], dtype=torch.int64, device=device), "mnist")
    raise UserError(f"unknown data set '{name}': choose digits or mnist")


def _part(split: Split, held_out: int) -> slice:
    """Where `split` lies in a sequence whose items from index `held_out` on are the test split."""
    return {"all": slice(None), "train": slice(None, held_out), "test": slice(held_out, None)}[split]


# --- digits: scikit-learn's 8x8 scans, augmented ---------------------------------------------


def render_digits(
    count: int,
    size: int,
    generator: torch.Generator,
    device: torch.device | str,
    chunk: int = 8192,
    split: Split = "all",
) -> ImageSet:
    scans, labels = digit_scans()
    held_out = round(len(scans) * (1 - DIGITS_TEST_FRACTION))
    scans, labels = scans[_part(split, held_out)], labels[_part(split, held_out)]
    # Two pixels of black around each 8x8 scan, so bicubic sampling fades out at the edges.
    sources = F.pad(torch.tensor(scans, device=device).unsqueeze(1) / 16.0, (2,) * 4)
    targets = torch.tensor(labels, device=device)
    picks = torch.randint(0, len(sources), (count,), generator=generator, device=device)
    images = torch.empty(count, 1, size, size, dtype=torch.uint8, device=device)
    style = torch.empty(count, 2, device=device)
    for start in range(0, count, chunk):
        index = picks[start : start + chunk]
        rows = slice(start, start + len(index))
        images[rows], style[rows] = _augment(sources[index], size, generator)
    return ImageSet(images, targets[picks], "digits", style)


def digit_scans() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's 1,797 digit scans (8x8, grey levels 0-16, float32) and labels (int64).
    Read from the CSV file scikit-learn ships: importing sklearn.datasets alone takes a second."""
    spec = importlib.util.find_spec("sklearn")
    try:
        if spec is None or not spec.submodule_search_locations:
            raise OSError("scikit-learn is not installed as a package")
        path = Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
        return table[:, :64].reshape(-1, 8, 8), table[:, 64].astype(np.int64)
    except (OSError, TypeError):  # a future scikit-learn may move the file
        from sklearn.datasets import load_digits

        scans = load_digits()
        return scans.images.astype(np.float32), scans.target.astype(np.int64)


def _augment(sources: torch.Tensor, size: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """The rendered digits (uint8) and their style: stroke threshold and forward slant (see `ImageSet.style`)."""
    n, device = len(sources), sources.device

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(n, generator=generator, device=device)

    angle = uniform(-12, 12) * math.pi / 180
    shear = uniform(-0.15, 0.15)
    # Output coordinates span [-1, 1]; the 8x8 digit inside its 12x12 padded scan spans 8/12 of
    # that, and should fill about 20/size of the output, as MNIST's digits do.
    zoom = (size / 20) * (8 / 12) / uniform(0.9, 1.1)
    theta = torch.stack(
        [
            torch.stack([zoom * angle.cos(), zoom * (shear - angle.sin()), uniform(-0.06, 0.06)], dim=1),
            torch.stack([zoom * angle.sin(), zoom * angle.cos(), uniform(-0.06, 0.06)], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, [n, 1, size, size], align_corners=False)
    ink = F.grid_sample(sources, grid, mode="bicubic", padding_mode="zeros", align_corners=False).clamp(0, 1)
    # Stroke width: a soft threshold at a random ink level; lower thresholds give bolder strokes.
    threshold = uniform(0.2, 0.5).view(n, 1, 1, 1)
    gain = 10.0
    low = torch.sigmoid(-threshold * gain)
    strokes = (torch.sigmoid((ink - threshold) * gain) - low) / (torch.sigmoid((1 - threshold) * gain) - low)
    # A vertical stroke of the scan lands where x_out = (sin(angle) - shear) / cos(angle) * y_out (y down).
    slant = (shear - angle.sin()) / angle.cos()
    style = torch.stack([threshold.flatten(), slant], dim=1)
    return (strokes.clamp(0, 1) * 255).round().to(torch.uint8), style


# --- captions: what the renderer knows about each digit, in words ------------------------------

DIGIT_WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
STROKE_WORDS = ("thick", "thin")  # thresholds in the lowest and highest third of _augment's range
SLANT_WORDS = ("slanted", "backslanted")  # tops leaning right or left by more than SLANT_LIMIT
CAPTION_WORDS = ("a", *STROKE_WORDS, *SLANT_WORDS, *DIGIT_WORDS)
THICK_BELOW, THIN_ABOVE = 0.3, 0.4
SLANT_LIMIT = 0.12  # about a third of the images lean further right, a third further left


def caption(digit: int, stroke: float | None = None, slant: float | None = None) -> str:
    """ "a thick slanted seven": the digit, with the stroke and slant words where they are clear."""
    words = ["a"]
    if stroke is not None:
        words += ["thick"] if stroke < THICK_BELOW else ["thin"] if stroke > THIN_ABOVE else []
    if slant is not None:
        words += ["slanted"] if slant > SLANT_LIMIT else ["backslanted"] if slant < -SLANT_LIMIT else []
    return " ".join([*words, DIGIT_WORDS[digit]])


def captions(images: ImageSet) -> list[str]:
    """A caption for every image: digit, stroke and slant for rendered digits, the digit alone for MNIST."""
    labels = images.labels.tolist()
    if images.style is None:
        return [caption(digit) for digit in labels]
    return [caption(digit, stroke, slant) for digit, (stroke, slant) in zip(labels, images.style.tolist(), strict=True)]


def to_pixels(x: torch.Tensor) -> torch.Tensor:
    """Model space [-1, 1], where DDPM adds its noise, back to images in [0, 1] (as pipelines show them)."""
    return (x.float() / 2 + 0.5).clamp(0, 1)


def resize(pixels: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, C, H, W) images to `size` x `size`, antialiased when shrinking."""
    scaled = F.interpolate(pixels.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return scaled.round().clamp(0, 255).to(torch.uint8)


# --- MNIST: IDX files, found or downloaded ---------------------------------------------------


def mnist_dir() -> Path:
    return paths.cache_dir() / "mnist"


def load_mnist(
    folder: Path | None = None, mirrors: tuple[str, ...] = MNIST_MIRRORS, sha256: dict[str, str] = MNIST_SHA256
) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's 60,000 training images (uint8, N x 28 x 28) and labels, downloading what is missing."""
    folder = folder or mnist_dir()
    arrays = []
    for name in ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"):
        path = _find_idx(folder, name) or fetch(name, folder, mirrors, sha256[name])
        arrays.append(read_idx(path))
    images, labels = arrays
    if images.ndim != 3 or labels.ndim != 1 or len(images) != len(labels):
        raise UserError(f"MNIST files in {folder} do not match: images {images.shape}, labels {labels.shape}")
    return images, labels


def _find_idx(folder: Path, gz_name: str) -> Path | None:
    """The file as distributed (`.gz`) or unpacked, under either of the names it circulates with."""
    plain = gz_name.removesuffix(".gz")
    for name in (gz_name, plain, plain.replace("-idx", ".idx")):
        if (folder / name).is_file():
            return folder / name
    return None


def read_idx(path: Path) -> np.ndarray:
    """Parse an IDX file (LeCun's format: magic 0 0 type ndim, big-endian dims, data), gzipped or not."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as handle:
            data = handle.read()
    except (OSError, EOFError) as exc:  # gzip raises these for truncated or non-gzip files
        raise UserError(f"{path}: not a readable IDX file ({exc})") from None
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] not in IDX_DTYPES:
        raise UserError(f"{path}: not an IDX file (bad magic number)")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise UserError(f"{path}: IDX header cut short")
    shape = tuple(int.from_bytes(data[4 + 4 * i : 8 + 4 * i], "big") for i in range(ndim))
    dtype = np.dtype(IDX_DTYPES[data[2]])
    expected = header + math.prod(shape) * dtype.itemsize
    if len(data) != expected:
        raise UserError(f"{path}: IDX file has {len(data)} bytes, its header {shape} says {expected}")
    return np.frombuffer(data, dtype=dtype, offset=header).reshape(shape)


def fetch(name: str, folder: Path, mirrors: tuple[str, ...], sha256: str) -> Path:
    """Download `name` from the first mirror that serves it with the right checksum."""
    folder.mkdir(parents=True, exist_ok=True)
    reasons = []
    for mirror in mirrors:
        try:
            return download(mirror + name, folder / name, sha256)
        except (OSError, UserError) as exc:
            reasons.append(f"{mirror}: {exc}")
    raise UserError(
        f"MNIST file {name} is not in {folder} and could not be downloaded ({'; '.join(reasons)}); "
        "copy the IDX files there or use --dataset digits"
    )


def download(url: str, dest: Path, sha256: str, timeout: float = 30.0) -> Path:
    """Fetch `url` to `dest` through a temporary file, kept only if its SHA-256 matches."""
    digest = hashlib.sha256()
    handle, tmp_name = tempfile.mkstemp(dir=dest.parent, prefix=dest.name + ".", suffix=".part")
    tmp = Path(tmp_name)
    try:
        with os.fdopen(handle, "wb") as out, urllib.request.urlopen(url, timeout=timeout) as response:
            while block := response.read(1 << 16):
                digest.update(block)
                out.write(block)
        if digest.hexdigest() != sha256:
            raise UserError(f"checksum mismatch for {url}: got sha256 {digest.hexdigest()}")
        os.replace(tmp, dest)
        return dest
    finally:
        tmp.unlink(missing_ok=True)
