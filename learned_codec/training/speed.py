"""CPU training speed helpers for `train` (issue 16): batch layout, random crops,
optional torch.compile, thread count.

Measured on 2 shared AVX2 cores (benchmarks/bench_train.py, benchmarks/results/):
- The old batch was `frames_to_tensor` of N x H x W x 3 uint8, i.e. a permuted
  (channels-last strided) float tensor fed to NCHW-contiguous weights; oneDNN then
  converts layouts in every conv. A contiguous NCHW batch is faster.
- Converting the model to channels_last did not pay here (BatchNorm on CPU is slower
  channels-last); so it is not used.
- bf16 autocast is not used: these CPUs have AVX2 only, no native bf16 (no avx512_bf16 /
  amx_bf16 flags), so bf16 would be emulated and slower.
- Random crops: conv4/conv5 are fully convolutional (the model pads to a multiple of
  2**levels and crops the output back to the input size), so a batch of H' x W' crops
  trains the same weights at (H' W') / (H W) of the cost. The recipe trains on crops
  for the first `crop_fraction` of the epochs and on whole frames for the rest, so the
  model ends on exactly what it is tested on (frame borders, replicate padding).
- torch.compile (inductor C++): works here; ~1.2x on a step after ~2 min of
  compiling per input shape; optional (`compile=True`), off by default on CPU.
"""
import numpy as np
import torch

from learned_codec.models import frames_to_tensor


def crop_supported(model):
    """Crops apply to fully convolutional models only (conv4/conv5: they pad any size)."""
    return not getattr(model, "fixed_frame_size", True) and hasattr(model, "multiple")


def crop_rng(seed, epoch, batch):
    """Crop offsets depend on (seed, epoch, batch) only: a resumed run crops alike."""
    return np.random.default_rng([int(seed), int(epoch), int(batch), 16])


def random_crops(frames_nhwc, crop, rng):
    """uint8 N x H x W x 3 -> N x h x w x 3, one random window per frame (crop = (h, w);
    a side larger than the frame is kept whole)."""
    n, H, W = frames_nhwc.shape[:3]
    h, w = min(int(crop[0]), H), min(int(crop[1]), W)
    if (h, w) == (H, W):
        return frames_nhwc
    ys = rng.integers(0, H - h + 1, size=n)
    xs = rng.integers(0, W - w + 1, size=n)
    return np.stack([frames_nhwc[i, y:y + h, x:x + w] for i, (y, x) in enumerate(zip(ys, xs))])


def batch_tensor_fast(frames, indices, device, crop=None, rng=None):
    """Like train.batch_tensor (sorted memory-map reads, float in [0, 1]) but NCHW
    contiguous, optionally randomly cropped."""
    x = np.ascontiguousarray(frames[np.sort(indices)])
    if crop is not None:
        x = random_crops(x, crop, rng)
    return frames_to_tensor(x, device).contiguous()


def use_crop(epoch, epochs, crop, crop_fraction):
    """Crop in epoch `epoch` (0-based)? The first round(crop_fraction * epochs) epochs."""
    if not crop:
        return False
    return epoch < int(round(float(crop_fraction) * epochs))


def set_threads(threads):
    if threads:
        torch.set_num_threads(int(threads))


def maybe_compile(model, enabled):
    """A compiled view of `model` for training steps (weights shared, state_dict keys
    unchanged); validation keeps using the eager model (other shapes, eval mode)."""
    if not enabled:
        return model
    return torch.compile(model, dynamic=False)
