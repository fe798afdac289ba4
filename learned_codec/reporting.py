"""Writing results, once for every report: JSON that stays valid, CSV, the environment.

    json_safe(obj)                 non-finite floats -> null, numpy scalars -> Python
    write_json(path, obj)          json_safe + atomic write
    write_csv(path, rows, columns) one row per dict, missing values empty, atomic
    environment()                  versions and hardware the numbers were measured with
"""
import math
import os
import platform
from pathlib import Path

from learned_codec.fileio import atomic_open, atomic_write_json


def json_safe(value):
    """JSON has no Infinity/NaN: non-finite floats become null (rows keep 'lossless')."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if hasattr(value, "item") and type(value).__module__ == "numpy":  # numpy scalars
        return json_safe(value.item())
    return value


def write_json(path, obj):
    atomic_write_json(path, json_safe(obj))


def _cell(value, float_format):
    if value is None:
        return ""
    if float_format and isinstance(value, float):
        return format(value, float_format)
    return value


def write_csv(path, rows, columns, float_format=None):
    """CSV with a header of `columns`; keys not in columns are ignored, missing ones empty."""
    import csv

    with atomic_open(path, "w") as f:
        writer = csv.DictWriter(f, fieldnames=columns, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(row.get(k), float_format) for k in columns})


def cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def environment():
    """Versions and hardware the numbers were measured with."""
    import numpy as np
    import PIL
    from PIL import features

    from learned_codec.ffmpeg import ffmpeg_version

    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "libjpeg": features.version("jpg"),
        "libwebp": features.version("webp"),
        "libavif": features.version("avif"),
        "ffmpeg": ffmpeg_version(),
        "cpu": cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    try:
        import skimage

        env["scikit-image"] = skimage.__version__
    except ImportError:
        env["scikit-image"] = "not installed"
    try:
        import torch

        env["torch"] = torch.__version__
        env["device"] = (f"cuda: {torch.cuda.get_device_name(0)}"
                         if torch.cuda.is_available() else "cpu")
    except ImportError:
        env["torch"] = "not installed"
        env["device"] = "cpu"
    return env
