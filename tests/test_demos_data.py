"""Training data: the built-in digits, the IDX parser, and the checksummed download (localhost only)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
from pathlib import Path

import numpy as np
import pytest
import torch

from learnapp.demos import data
from learnapp.errors import UserError


def write_idx(path: Path, array: np.ndarray, compress: bool = False) -> Path:
    codes = {np.dtype(np.uint8): 0x08, np.dtype(">i4"): 0x0C}
    header = bytes([0, 0, codes[array.dtype], array.ndim]) + b"".join(d.to_bytes(4, "big") for d in array.shape)
    payload = header + array.tobytes()
    path.write_bytes(gzip.compress(payload) if compress else payload)
    return path


def fake_mnist(count: int = 12) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.integers(0, 256, (count, 28, 28), dtype=np.uint8), rng.integers(0, 10, count, dtype=np.uint8)


@pytest.mark.parametrize("compress", [False, True])
def test_read_idx_round_trips_what_the_test_wrote(tmp_path, compress):
    images, _ = fake_mnist()
    path = write_idx(tmp_path / ("x.gz" if compress else "x"), images, compress)
    np.testing.assert_array_equal(data.read_idx(path), images)
    big_endian = np.arange(6, dtype=">i4").reshape(2, 3)
    np.testing.assert_array_equal(data.read_idx(write_idx(tmp_path / "ints", big_endian)), big_endian)


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda raw: raw[:-5], "header"),  # truncated pixels
        (lambda raw: b"\x01" + raw[1:], "magic"),
        (lambda raw: raw[:2] + b"\x42" + raw[3:], "magic"),  # unknown element type
        (lambda raw: raw[:6], "cut short"),
        (lambda raw: raw + b"\x00", "header"),  # trailing garbage
    ],
)
def test_read_idx_rejects_a_corrupted_file(tmp_path, damage, message):
    images, _ = fake_mnist()
    raw = write_idx(tmp_path / "good", images).read_bytes()
    bad = tmp_path / "bad"
    bad.write_bytes(damage(raw))
    with pytest.raises(UserError, match=message):
        data.read_idx(bad)


def test_read_idx_rejects_a_broken_gzip(tmp_path):
    images, _ = fake_mnist()
    compressed = write_idx(tmp_path / "x.gz", images, compress=True)
    compressed.write_bytes(compressed.read_bytes()[:-20])
    with pytest.raises(UserError, match="not a readable IDX file"):
        data.read_idx(compressed)


def test_mnist_found_in_the_cache_folder_under_either_name(tmp_path):
    images, labels = fake_mnist()
    folder = data.mnist_dir()
    folder.mkdir(parents=True)
    write_idx(folder / "train-images-idx3-ubyte.gz", images, compress=True)
    write_idx(folder / "train-labels.idx1-ubyte", labels)  # unpacked, dotted name
    loaded = data.load_images("mnist", 28, 10, seed=0)
    assert loaded.images.shape == (10, 1, 28, 28) and loaded.images.dtype == torch.uint8
    np.testing.assert_array_equal(loaded.images[:, 0].numpy(), images[:10])
    np.testing.assert_array_equal(loaded.labels.numpy(), labels[:10])
    assert data.load_images("mnist", 16, 3, seed=0).images.shape == (3, 1, 16, 16)
    with pytest.raises(UserError, match="has 12 training images"):
        data.load_images("mnist", 28, 13, seed=0)


@pytest.fixture
def server(tmp_path):
    """A local HTTP server over a folder the test fills; yields (folder, base URL)."""
    root = tmp_path / "served"
    root.mkdir()

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, directory=str(root), **kwargs)

        def log_message(self, *args):
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{httpd.server_address[1]}/"
    httpd.shutdown()
    httpd.server_close()


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_download_keeps_a_file_only_when_its_checksum_matches(server, tmp_path):
    root, url = server
    images, labels = fake_mnist()
    served_images = write_idx(root / "train-images-idx3-ubyte.gz", images, compress=True)
    served_labels = write_idx(root / "train-labels-idx1-ubyte.gz", labels, compress=True)
    sums = {served_images.name: sha256(served_images), served_labels.name: sha256(served_labels)}
    target = tmp_path / "mnist"

    # The first mirror is missing (404), the second serves the files.
    loaded_images, loaded_labels = data.load_mnist(target, mirrors=(url + "missing/", url), sha256=sums)
    np.testing.assert_array_equal(loaded_images, images)
    np.testing.assert_array_equal(loaded_labels, labels)
    assert sorted(p.name for p in target.iterdir()) == sorted(sums)

    wrong = dict.fromkeys(sums, "0" * 64)
    elsewhere = tmp_path / "elsewhere"
    with pytest.raises(UserError, match="checksum mismatch") as failure:
        data.load_mnist(elsewhere, mirrors=(url,), sha256=wrong)
    assert "--dataset digits" in str(failure.value) and "\n" not in str(failure.value)
    assert list(elsewhere.iterdir()) == []  # nothing half-downloaded or unverified is left


def test_digits_are_rendered_deterministically_in_range_with_their_labels():
    first = data.load_images("digits", 28, 300, seed=3)
    again = data.load_images("digits", 28, 300, seed=3)
    other = data.load_images("digits", 28, 300, seed=4)
    assert first.images.shape == (300, 1, 28, 28) and first.images.dtype == torch.uint8
    assert torch.equal(first.images, again.images) and torch.equal(first.labels, again.labels)
    assert not torch.equal(first.images, other.images)
    assert set(first.labels.tolist()) == set(range(10))
    pixels = first.floats(slice(None))
    assert pixels.min() >= 0.0 and pixels.max() <= 1.0
    # MNIST-like: ink in the middle, a black border (MNIST keeps digits in the central 20x20).
    assert pixels[..., :2, :].mean() < 0.02 and pixels[..., 10:18, 10:18].mean() > 0.2
    assert data.load_images("digits", 16, 5, seed=0).images.shape == (5, 1, 16, 16)


def test_unknown_data_set_is_a_user_error():
    with pytest.raises(UserError, match="unknown data set"):
        data.load_images("cifar", 28, 4, seed=0)  # type: ignore[arg-type]
