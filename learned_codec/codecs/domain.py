"""Out of domain is said, not hidden: a lossy learned codec's reconstruction of this input
against what the model reaches on its own test split.

A run folder (and a shipped model) keeps `test_metrics.json` with the PSNR measured on its
test split when it was trained. `check_domain(codec, frames)` codes a few evenly spaced
frames of the input through real bytes and returns the PSNR it reaches; an input whose
PSNR is more than OUT_OF_DOMAIN_DB below the model's test-split PSNR is out of its domain
(the autoencoders learn their training content: a photo through the Pac-Man conv5 comes
back as a maze), and `domain_warning` says so in one line with the better choice.
"""
import json

import numpy as np

OUT_OF_DOMAIN_DB = 6.0
SAMPLE_FRAMES = 8
TEST_METRICS = "test_metrics.json"


def test_split_psnr(run_dir):
    """The PSNR a run folder's model reached on its test split, or None if not recorded."""
    from pathlib import Path

    path = Path(run_dir) / TEST_METRICS
    try:
        value = json.loads(path.read_text()).get("test_psnr")
    except (OSError, ValueError, AttributeError):
        return None
    return float(value) if isinstance(value, (int, float)) and np.isfinite(value) else None


def check_domain(codec, frames):
    """(PSNR on a sample of `frames` through real bytes, the model's test-split PSNR) or None
    when the codec has no recorded test PSNR (lossless codecs, runs without a test split)."""
    from learned_codec.eval.metrics import psnr_per_frame

    reference = getattr(codec, "test_psnr", None)
    if reference is None or len(frames) == 0:
        return None
    idx = np.unique(np.linspace(0, len(frames) - 1, min(SAMPLE_FRAMES, len(frames))).round().astype(int))
    sample = np.ascontiguousarray(frames[idx])
    decoded = codec.decode(codec.encode(sample))
    measured = float(np.mean(np.minimum(psnr_per_frame(sample, decoded), 99.0)))
    return measured, reference


def domain_warning(name, measured, reference):
    """One line when `measured` is out of the model's domain, else None."""
    if measured >= reference - OUT_OF_DOMAIN_DB:
        return None
    return (f"warning: {name} reconstructs this input at {measured:.1f} dB PSNR, far below the "
            f"{reference:.1f} dB it reaches on its own test split: the input is outside what the "
            f"model learned. Better: a classic codec (e.g. `learned-codec eval` with webp or jpeg), "
            f"or --model palette for emulator screens (lossless)")
