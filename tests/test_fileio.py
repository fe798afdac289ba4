"""Atomic writes: the target is either the old file or the complete new one."""
import json
import os

import pytest

from learned_codec.errors import UserError
from learned_codec.fileio import atomic_open, atomic_write_bytes, atomic_write_json, check_writable_dir


def test_atomic_write_replaces_whole_file(tmp_path):
    p = tmp_path / "out.bin"
    atomic_write_bytes(p, b"old")
    atomic_write_bytes(p, b"new contents")
    assert p.read_bytes() == b"new contents"
    assert os.listdir(tmp_path) == ["out.bin"]


def test_failed_write_keeps_old_file_and_leaves_no_temp(tmp_path):
    p = tmp_path / "out.json"
    atomic_write_json(p, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_open(p, "w") as f:
            f.write('{"half": ')
            raise RuntimeError("killed mid-write")
    assert json.loads(p.read_text()) == {"a": 1}
    assert os.listdir(tmp_path) == ["out.json"]


def test_unwritable_folder_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(UserError, match="not writable"):
        check_writable_dir(blocker / "sub")
    with pytest.raises(UserError, match="cannot write"):
        atomic_write_bytes(blocker / "sub" / "f.bin", b"x")
