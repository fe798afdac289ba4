"""Atomic file writes: a reader never sees a half-written file.

Write to a temporary name in the same folder, flush and fsync, then rename over
the target (rename is atomic on POSIX within one file system). On any error the
temporary file is removed and the target is left as it was.
"""
import contextlib
import json
import os
import tempfile
from pathlib import Path

from learned_codec.errors import UserError


def _read_umask():
    mask = os.umask(0)  # the only portable way to read it: set and restore at once
    os.umask(mask)
    return mask


_UMASK = _read_umask()  # read once, at import (reading it later would race other threads)


@contextlib.contextmanager
def atomic_open(path, mode="wb"):
    """Open a temporary file next to `path`; on success it replaces `path`."""
    path = Path(path)
    if path.is_dir():
        raise UserError(f"{path} is a folder: give a file name to write")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    except OSError as e:
        raise UserError(f"cannot write to {path.parent}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, mode) as f:
            yield f
            f.flush()
            # mkstemp makes the file 0600; the finished file gets the mode a plain open() would
            os.fchmod(f.fileno(), 0o666 & ~_UMASK)
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def atomic_write_bytes(path, data):
    with atomic_open(path, "wb") as f:
        f.write(data)


def atomic_write_json(path, obj):
    with atomic_open(path, "w") as f:
        json.dump(obj, f, indent=2, sort_keys=True)
        f.write("\n")


def check_writable_dir(path):
    """Create `path` if needed and make sure files can be written in it."""
    path = Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as e:
        raise UserError(f"output folder {path} is not writable: {e.strerror or e}") from None
    return path
