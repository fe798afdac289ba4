"""Random access into .lcf files: frame k from its group of pictures equals the full decode."""
import numpy as np
import pytest

from data_tools import frames as F
from data_tools import pacman
from learned_codec.codecs.reader import open_frames
from learned_codec.codecs.registry import codec_for_file, make_video_codec, open_codec
from learned_codec.container import with_extra
from learned_codec.container.format import unpack
from learned_codec.errors import UserError


@pytest.fixture(scope="module")
def video(tmp_path_factory):
    out = tmp_path_factory.mktemp("reader")
    pacman.make_dataset(out, seed=2, videos=1, frames_per_video=20, progress=False, workers=1)
    return np.asarray(F.load_video(out, 0))[:11]      # 11 frames: the last group is short


def _files(frames):
    conv5 = open_codec("conv5")
    return {
        "conv5 intra": conv5.encode(frames),
        "conv5 latent-delta gop=4": make_video_codec(conv5, gop=4).encode(frames),
        "hyperprior entropy-delta gop=4": make_video_codec(open_codec("hyperprior"), gop=4).encode(frames[:6]),
        "palette image": open_codec("palette").encode(frames),
        "palette video gop=4": make_video_codec(open_codec("palette"), gop=4).encode(frames),
    }


def test_every_frame_and_slice_equals_the_full_decode(video, tmp_path):
    for name, data in _files(video).items():
        path = tmp_path / "f.lcf"
        path.write_bytes(data)
        full = codec_for_file(unpack(data)[0]).decode(data)
        frames = open_frames(path)
        assert len(frames) == len(full), name
        for k in (len(full) - 1, 0, 5, 4, 3, -1):     # out of order: each group decoded alone
            np.testing.assert_array_equal(frames[k], full[k], err_msg=f"{name} frame {k}")
        np.testing.assert_array_equal(frames[2:6], full[2:6], err_msg=name)
        np.testing.assert_array_equal(np.stack(list(frames)), full, err_msg=name)
        with pytest.raises(IndexError):
            frames[len(full)]


def test_only_the_group_holding_the_frame_is_decoded(video, tmp_path, monkeypatch):
    path = tmp_path / "v.lcf"
    path.write_bytes(make_video_codec(open_codec("palette"), gop=4).encode(video))
    frames = open_frames(path)
    decoded = []
    real = frames.codec.decode
    monkeypatch.setattr(frames.codec, "decode", lambda data: decoded.append(unpack(data)[0].frames) or real(data))
    frames[9]
    frames[8]          # same group: cached
    assert decoded == [3]    # frames 8..10, the last (short) group


def test_names_follow_the_frames(video, tmp_path):
    data = with_extra(open_codec("palette").encode(video[:3]), names=["a", "b", "c"])
    path = tmp_path / "n.lcf"
    path.write_bytes(data)
    frames = open_frames(path)
    assert frames.names == ["a", "b", "c"]
    np.testing.assert_array_equal(frames[1], video[1])


def test_missing_file_is_a_user_error(tmp_path):
    with pytest.raises(UserError, match="no .lcf file at"):
        open_frames(tmp_path / "none.lcf")
