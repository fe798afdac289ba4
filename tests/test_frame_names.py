"""Input file names travel in the file (sanitised) and name the decoded frames; output files
get the umask's mode."""
import os
import stat

import numpy as np
import pytest

from learned_codec.container import ContainerError, Meta, frame_names, pack, safe_name, unpack, with_extra
from learned_codec.fileio import atomic_write_bytes


def _file(n=2, **extra):
    meta = Meta(arch="x", height=2, width=2, frames=n, quantizer={"method": "none"}, mode="intra", extra=extra)
    return pack(meta, [b"a"] * n)


@pytest.mark.parametrize("raw,safe", [("frame 01.png", "frame_01"), ("../../etc/passwd", "passwd"),
                                      ("a\\b\\c.jpg", "c"), (".hidden.png", "hidden"), ("..", None),
                                      ("ü.png", None), ("x" * 300 + ".png", "x" * 100)])
def test_safe_name(raw, safe):
    assert safe_name(raw) == safe


def test_names_round_trip_and_bad_names_are_dropped_or_refused():
    data = with_extra(_file(), names=["b 1.png", "c.png"])
    assert frame_names(unpack(data)[0]) == ["b_1", "c"]
    # duplicates after sanitising, or a wrong count: the file simply carries no names
    assert frame_names(unpack(with_extra(_file(), names=["a.png", "a.jpg"]))[0]) is None
    assert frame_names(unpack(with_extra(_file(), names=["a.png"]))[0]) is None
    # a crafted header (valid CRCs) naming paths is refused, never written outside the folder
    for bad in (["../x", "y"], ["a/b", "c"], ["..", "d"], [1, 2], "ab"):
        with pytest.raises(ContainerError, match="extra.names"):
            frame_names(unpack(_file(names=bad))[0])


def test_written_files_get_the_umask_mode(tmp_path):
    old = os.umask(0o022)
    try:
        import importlib

        from learned_codec import fileio

        importlib.reload(fileio)  # the umask is read at import
        fileio.atomic_write_bytes(tmp_path / "f.bin", b"x")
        assert stat.S_IMODE((tmp_path / "f.bin").stat().st_mode) == 0o644
    finally:
        os.umask(old)
        importlib.reload(fileio)
    atomic_write_bytes(tmp_path / "g.bin", np.zeros(3, np.uint8).tobytes())
    assert stat.S_IMODE((tmp_path / "g.bin").stat().st_mode) == 0o666 & ~old
