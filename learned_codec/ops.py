"""Checked Python API over the native kernels of learned_codec._C.

Every op runs on the device of its input tensor (CPU, or CUDA when the
extension was built with CUDA), checks dtype, rank, shape and device first and
raises TypeError / ValueError with a clear message, then hands contiguous
buffers to the kernel. Plain PyTorch references live in ops_reference.py.
"""
import torch
import torch.nn.functional as F

from . import _C

__all__ = ["block_dct", "block_idct", "cuda_available", "pad_to_multiple"]


def cuda_available():
    """True when the native CUDA kernels were compiled and a GPU is visible."""
    return bool(_C.cuda_built) and torch.cuda.is_available()


def _launch_args(t):
    """(is_cuda, stream pointer) for a tensor's device."""
    if t.device.type == "cuda":
        if not _C.cuda_built:
            raise RuntimeError("learned_codec._C was built without CUDA; reinstall with nvcc present")
        return True, torch.cuda.current_stream(t.device).cuda_stream
    if t.device.type != "cpu":
        raise ValueError(f"unsupported device {t.device}; use cpu or cuda")
    return False, 0


def _check_float_nchw(x, name):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if x.dtype != torch.float32:
        raise TypeError(f"{name} must be float32, got {x.dtype}")
    if x.dim() != 4:
        raise ValueError(f"{name} must be N x C x H x W (4-D), got shape {tuple(x.shape)}")
    if not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")


def pad_to_multiple(x, multiple=8):
    """Pad the last two dims of x up to a multiple by replicating the edge pixels.

    This is the documented padding rule of block_dct: JPEG encoders also
    replicate the last row/column into partial blocks, which keeps the padded
    region smooth (cheap to code) instead of adding a hard edge.
    """
    h, w = x.shape[-2:]
    ph, pw = (-h) % multiple, (-w) % multiple
    if ph == 0 and pw == 0:
        return x
    if h == 0 or w == 0:
        raise ValueError("cannot pad an empty image")
    return F.pad(x, (0, pw, 0, ph), mode="replicate")


def _block_transform(x, inverse, name):
    _check_float_nchw(x, name)
    x = pad_to_multiple(x).contiguous()
    y = torch.empty_like(x)
    n, c, h, w = x.shape
    cuda, stream = _launch_args(x)
    if x.numel():
        _C.block_dct(x.data_ptr(), y.data_ptr(), n * c, h, w, inverse, cuda, stream)
    return y


def block_dct(x):
    """Orthonormal 8x8 block DCT-II.

    x: float32 N x C x H x W on CPU or CUDA. H and W that are not multiples of 8
    are padded up by edge replication (see pad_to_multiple), so the result is
    N x C x ceil(H/8)*8 x ceil(W/8)*8; crop after block_idct to get H x W back.
    """
    return _block_transform(x, False, "x")


def block_idct(X):
    """Inverse of block_dct: X float32 N x C x H x W with H, W multiples of 8."""
    if isinstance(X, torch.Tensor) and X.dim() == 4 and (X.shape[-1] % 8 or X.shape[-2] % 8):
        raise ValueError(f"block_idct needs H and W multiples of 8, got {tuple(X.shape[-2:])}")
    return _block_transform(X, True, "X")
