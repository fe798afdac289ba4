"""Argument checks shared by the ops and the handle on the native module _C."""
import torch

from learned_codec import _C


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


def _check_tensor(x, name, dtype=None, dims=None):
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(x).__name__}")
    if dtype is not None and x.dtype != dtype:
        raise TypeError(f"{name} must be {dtype}, got {x.dtype}")
    if dims is not None and x.dim() not in (dims if isinstance(dims, tuple) else (dims,)):
        raise ValueError(f"{name} must have {dims} dimensions, got shape {tuple(x.shape)}")


def _check_finite(x, name):
    # One sum first: NaN and inf propagate through it, and a reduction is far
    # cheaper than materialising isfinite(x); only a non-finite sum (NaN/inf
    # input, or an overflow of huge finite values) needs the exact check.
    if not x.is_floating_point() or not x.numel():
        return
    if not torch.isfinite(x.sum()) and not torch.isfinite(x).all():
        raise ValueError(f"{name} contains NaN or infinite values")


def _same_device(a, b, na, nb):
    if a.device != b.device:
        raise ValueError(f"{na} is on {a.device} but {nb} is on {b.device}; move them to one device")


def _check_float_nchw(x, name):
    _check_tensor(x, name, torch.float32)
    if x.dim() != 4:
        raise ValueError(f"{name} must be N x C x H x W (4-D), got shape {tuple(x.shape)}")
    _check_finite(x, name)
