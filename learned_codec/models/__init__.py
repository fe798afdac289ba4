"""The model zoo: autoencoders fc, fc-deep, conv4, conv5, vae, factorized, hyperprior (see
registry.py for the interface), and the palette model of emulator frames (palette.py).

Images enter and leave the models as float N x 3 x H x W in [0, 1]; frames on disk
are uint8 N x H x W x 3. `frames_to_tensor` / `tensor_to_frames` convert between the
two by transposing HWC -> CHW (the reference reshaped instead, scrambling channels).
"""
import torch

from . import conv, entropy, fc, palette, vae  # noqa: F401  (registers the architectures)
from .registry import ARCHS, arch_names, build_model, count_parameters, default_config, model_config


def frames_to_tensor(frames, device=None):
    """uint8 N x H x W x 3 (numpy or tensor) -> float32 N x 3 x H x W in [0, 1]."""
    t = torch.as_tensor(frames)
    if device is not None:
        t = t.to(device, non_blocking=True)
    return t.permute(0, 3, 1, 2).float().div_(255.0)


def tensor_to_frames(x):
    """float N x 3 x H x W in [0, 1] -> uint8 numpy N x H x W x 3 (rounded, clamped)."""
    x = x.detach().float().clamp(0, 1).mul(255.0).round_().to(torch.uint8)
    return x.permute(0, 2, 3, 1).contiguous().cpu().numpy()


__all__ = [
    "ARCHS",
    "arch_names",
    "build_model",
    "count_parameters",
    "default_config",
    "model_config",
    "frames_to_tensor",
    "tensor_to_frames",
]
