"""Loaders: image folders, video files, Fashion-MNIST (Debian files), CIFAR-10 (fake tarball)."""
import gzip
import io
import os
import pickle
import subprocess
import tarfile
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from data_tools import sources
from learned_codec.cli import main
from learned_codec.errors import UserError

RNG = np.random.default_rng(0)


# ----------------------------------------------------------------------------- image folder
def write_images(folder, sizes, fmt="png"):
    folder.mkdir(parents=True, exist_ok=True)
    arrays = []
    for i, (h, w) in enumerate(sizes):
        a = RNG.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(a).save(folder / f"img_{i:02d}.{fmt}")
        arrays.append(a)
    return arrays


@pytest.mark.parametrize("fmt", ["png", "bmp", "webp"])
def test_image_folder_lossless_formats(tmp_path, fmt):
    if fmt == "webp":
        # WebP is lossy by default; write it lossless so pixels compare exactly
        a = RNG.integers(0, 256, (12, 9, 3), dtype=np.uint8)
        tmp_path.mkdir(exist_ok=True)
        Image.fromarray(a).save(tmp_path / "a.webp", lossless=True)
        arrays = [a]
    else:
        arrays = write_images(tmp_path, [(12, 9)] * 3, fmt)
    (tmp_path / "notes.txt").write_text("ignored")
    images, names = sources.load_image_folder(tmp_path, return_names=True)
    assert images.dtype == np.uint8 and images.shape == (len(arrays), 12, 9, 3)
    np.testing.assert_array_equal(images, np.stack(arrays))
    assert names == sorted(names)


def test_image_folder_jpeg_and_grey_become_rgb(tmp_path):
    Image.fromarray(np.full((8, 8), 200, np.uint8)).save(tmp_path / "b.jpg", quality=95)
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(tmp_path / "a.png")
    images, names = sources.load_image_folder(tmp_path, return_names=True)
    assert names == ["a.png", "b.jpg"] and images.shape == (2, 8, 8, 3)
    assert abs(int(images[1].mean()) - 200) <= 2


@pytest.mark.parametrize("setup, message", [
    ("missing", "does not exist"),
    ("file", "is not a folder"),
    ("empty", "no images"),
    ("sizes", "images differ in size"),
    ("corrupt", "is not a readable image"),
])
def test_image_folder_errors(tmp_path, setup, message):
    target = tmp_path / "imgs"
    if setup == "file":
        target.write_text("x")
    elif setup == "empty":
        target.mkdir()
    elif setup == "sizes":
        write_images(target, [(8, 8), (8, 9)])
    elif setup == "corrupt":
        write_images(target, [(8, 8)])
        (target / "img_01.png").write_bytes(b"\x89PNG\r\n\x1a\n not really")
    with pytest.raises(UserError, match=message):
        sources.load_image_folder(target)


# ----------------------------------------------------------------------------- video file
def write_lossless_video(path, frames, fps=25):
    t, h, w, _ = frames.shape
    cmd = [sources.ffmpeg_exe(), "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264rgb", "-qp", "0",
           str(path)]
    subprocess.run(cmd, input=frames.tobytes(), check=True)


def test_video_file_round_trip(tmp_path):
    frames = RNG.integers(0, 256, (7, 24, 32, 3), dtype=np.uint8)
    write_lossless_video(tmp_path / "v.mp4", frames)
    decoded, fps = sources.load_video_file(tmp_path / "v.mp4")
    assert decoded.dtype == np.uint8 and fps == pytest.approx(25)
    np.testing.assert_array_equal(decoded, frames)
    first, _ = sources.load_video_file(tmp_path / "v.mp4", max_frames=3)
    np.testing.assert_array_equal(first, frames[:3])


@pytest.mark.parametrize("content, message", [
    (None, "does not exist"),
    (b"", "not a video file"),
    (b"hello, I am text\n" * 10, "not a video file"),
])
def test_video_file_errors(tmp_path, content, message):
    path = tmp_path / "v.mp4"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(UserError, match=message):
        sources.load_video_file(path)


def test_video_file_truncated(tmp_path):
    frames = RNG.integers(0, 256, (5, 16, 16, 3), dtype=np.uint8)
    write_lossless_video(tmp_path / "v.mp4", frames)
    data = (tmp_path / "v.mp4").read_bytes()
    (tmp_path / "cut.mp4").write_bytes(data[: len(data) // 3])
    with pytest.raises(UserError):
        sources.load_video_file(tmp_path / "cut.mp4")


def test_image_as_video_is_user_error(tmp_path):
    write_images(tmp_path, [(8, 8)])
    with pytest.raises(UserError):
        sources.load_video_file(tmp_path / "img_00.png", max_frames=0)


# ----------------------------------------------------------------------------- Fashion-MNIST
def test_fashion_mnist_real_files():
    images, labels = sources.load_fashion_mnist("test")
    assert images.dtype == np.uint8 and images.shape == (10000, 28, 28)
    assert labels.dtype == np.uint8 and labels.shape == (10000,)
    assert np.bincount(labels).tolist() == [1000] * 10
    train_images, train_labels = sources.load_fashion_mnist("train")
    assert train_images.shape == (60000, 28, 28) and train_labels.shape == (60000,)


def idx_bytes(array, magic_dtype=0x08):
    header = bytes([0, 0, magic_dtype, array.ndim])
    header += b"".join(int(n).to_bytes(4, "big") for n in array.shape)
    return header + array.astype(np.uint8).tobytes()


def write_fake_fashion(root, images, labels, raw_images=None):
    root.mkdir(parents=True, exist_ok=True)
    with gzip.open(root / "t10k-images-idx3-ubyte.gz", "wb") as f:
        f.write(raw_images if raw_images is not None else idx_bytes(images))
    with gzip.open(root / "t10k-labels-idx1-ubyte.gz", "wb") as f:
        f.write(idx_bytes(labels))


def test_fashion_mnist_fake_root(tmp_path):
    images = RNG.integers(0, 256, (5, 28, 28), dtype=np.uint8)
    labels = np.array([0, 1, 2, 3, 9], np.uint8)
    write_fake_fashion(tmp_path, images, labels)
    got, got_labels = sources.load_fashion_mnist("test", root=tmp_path)
    np.testing.assert_array_equal(got, images)
    np.testing.assert_array_equal(got_labels, labels)


@pytest.mark.parametrize("case, message", [
    ("missing", "is missing"),
    ("magic", "bad IDX magic"),
    ("truncated", "truncated or corrupt"),
    ("count", "images but"),
    ("not_gzip", "not a readable gzip"),
    ("split", "unknown Fashion-MNIST split"),
])
def test_fashion_mnist_errors(tmp_path, case, message):
    images = RNG.integers(0, 256, (4, 28, 28), dtype=np.uint8)
    labels = np.zeros(4, np.uint8)
    split = "test"
    if case == "magic":
        write_fake_fashion(tmp_path, images, labels, raw_images=idx_bytes(images, 0x0D))
    elif case == "truncated":
        write_fake_fashion(tmp_path, images, labels, raw_images=idx_bytes(images)[:-100])
    elif case == "count":
        write_fake_fashion(tmp_path, images, labels[:3])
    elif case == "not_gzip":
        write_fake_fashion(tmp_path, images, labels)
        (tmp_path / "t10k-images-idx3-ubyte.gz").write_bytes(b"plain bytes, no gzip")
    elif case == "split":
        split = "validation"
    with pytest.raises(UserError, match=message):
        sources.load_fashion_mnist(split, root=tmp_path)


# ----------------------------------------------------------------------------- CIFAR-10
CLASSES = ["airplane", "automobile", "bird", "cat", "deer",
           "dog", "frog", "horse", "ship", "truck"]


def cifar_batch(n, seed):
    """A batch dict as the real archive holds it once read with encoding='bytes'."""
    rng = np.random.default_rng(seed)
    return {b"batch_label": b"fake batch", b"labels": rng.integers(0, 10, n).tolist(),
            b"data": rng.integers(0, 256, (n, 3072), dtype=np.uint8),
            b"filenames": [b"f%d.png" % i for i in range(n)]}


def make_cifar_tarball(path, members):
    """Write a .tar.gz with members {name: bytes} under cifar-10-batches-py/."""
    with tarfile.open(path, "w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))


def standard_members():
    members = {f"data_batch_{i}": pickle.dumps(cifar_batch(3, i), protocol=2) for i in range(1, 6)}
    members["test_batch"] = pickle.dumps(cifar_batch(4, 99), protocol=2)
    members["batches.meta"] = pickle.dumps(
        {b"label_names": [c.encode() for c in CLASSES], b"num_cases_per_batch": 3}, protocol=2)
    return members


def test_cifar10_fake_tarball(tmp_path):
    make_cifar_tarball(tmp_path / "c.tar.gz", standard_members())
    images, labels, classes = sources.load_cifar10(tmp_path / "c.tar.gz", "train")
    assert images.dtype == np.uint8 and images.shape == (15, 32, 32, 3)
    assert labels.dtype == np.uint8 and labels.shape == (15,)
    assert classes == CLASSES
    first = cifar_batch(3, 1)
    # rows are planes R, G, B of 32 x 32
    assert images[0, 0, 0, 0] == first[b"data"][0, 0]
    assert images[0, 0, 0, 1] == first[b"data"][0, 1024]
    assert images[0, 0, 1, 2] == first[b"data"][0, 2049]
    assert labels.tolist()[:3] == first[b"labels"]
    test_images, test_labels, _ = sources.load_cifar10(tmp_path / "c.tar.gz", "test")
    assert test_images.shape == (4, 32, 32, 3) and test_labels.shape == (4,)


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned > /dev/null",))


@pytest.mark.parametrize("case, message", [
    ("missing", "does not exist"),
    ("not_tar", "not a readable CIFAR-10 archive"),
    ("truncated", "not a readable CIFAR-10 archive"),
    ("no_batch", "has no test_batch"),
    ("evil", "refusing to load"),
    ("garbage_pickle", "not a valid CIFAR-10 batch"),
    ("bad_shape", "expected uint8 N x 3072"),
    ("split", "unknown CIFAR-10 split"),
])
def test_cifar10_errors(tmp_path, case, message):
    path = tmp_path / "c.tar.gz"
    members = standard_members()
    split = "test"
    if case == "not_tar":
        path.write_bytes(b"this is not an archive")
    elif case == "truncated":
        make_cifar_tarball(path, members)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif case == "split":
        split = "val"
    elif case != "missing":
        if case == "no_batch":
            del members["test_batch"]
        elif case == "evil":
            members["test_batch"] = pickle.dumps({b"data": Evil()}, protocol=2)
        elif case == "garbage_pickle":
            members["test_batch"] = b"\x80\x02garbage"
        elif case == "bad_shape":
            batch = cifar_batch(2, 0)
            batch[b"data"] = batch[b"data"].reshape(2, 32, 96)
            members["test_batch"] = pickle.dumps(batch, protocol=2)
        make_cifar_tarball(path, members)
    with pytest.raises(UserError, match=message):
        sources.load_cifar10(path, split)


# ----------------------------------------------------------------------------- through the CLI
def test_loader_error_through_cli_is_one_line(tmp_path, capsys):
    """A loader's UserError reaching the CLI prints one line and exits 2 (no traceback)."""
    (tmp_path / "d").mkdir()
    assert main(["data", "export", str(tmp_path / "d"), "--png", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("learned-codec data: error:")
