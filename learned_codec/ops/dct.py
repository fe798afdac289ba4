"""8x8 block DCT-II and its inverse (orthonormal), any N x C x H x W float tensor."""
import torch
import torch.nn.functional as F

from learned_codec import _C
from learned_codec.ops._checks import _check_float_nchw, _launch_args


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
