"""The on-disk frame data set layout (data_tools/frames.py)."""
import numpy as np
import pytest

from data_tools import frames
from learned_codec.errors import UserError


def test_split_round_trip(tmp_path):
    x = np.random.default_rng(0).integers(0, 256, (3, 200, 160, 3), dtype=np.uint8)
    frames.save_split(tmp_path, "train", x)
    np.testing.assert_array_equal(frames.load_split(tmp_path, "train"), x)
    np.testing.assert_array_equal(frames.load_split(tmp_path, "train", mmap=True), x)


def test_video_round_trip_is_byte_identical(tmp_path):
    x = np.random.default_rng(1).integers(0, 4, (5, 200, 160, 3), dtype=np.uint8)
    frames.save_video(tmp_path / "a", 0, x)
    frames.save_video(tmp_path / "b", 0, x)
    np.testing.assert_array_equal(frames.load_video(tmp_path / "a", 0), x)
    assert frames.video_path(tmp_path / "a", 0).read_bytes() == frames.video_path(tmp_path / "b", 0).read_bytes()


def test_missing_and_malformed_data_are_user_errors(tmp_path):
    with pytest.raises(UserError, match="make the data set first"):
        frames.load_split(tmp_path, "test")
    with pytest.raises(UserError, match="unknown split"):
        frames.load_split(tmp_path, "holdout")
    p = frames.split_path(tmp_path, "val")
    p.parent.mkdir(parents=True)
    p.write_bytes(b"\x93NUMPY garbage")
    with pytest.raises(UserError, match="not a readable frame array"):
        frames.load_split(tmp_path, "val")
    np.save(p, np.zeros((2, 4, 4), np.float32))
    with pytest.raises(UserError, match="expected uint8"):
        frames.load_split(tmp_path, "val")
    with pytest.raises(UserError, match="no manifest.json"):
        frames.load_manifest(tmp_path)
    vp = frames.video_path(tmp_path, 3)
    vp.parent.mkdir(parents=True)
    vp.write_bytes(b"PK\x03\x04 truncated")
    with pytest.raises(UserError, match="not a readable video"):
        frames.load_video(tmp_path, 3)
