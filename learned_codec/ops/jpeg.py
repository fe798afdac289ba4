"""JPEG quantization (IJG quality scaling), quantize / dequantize, fused DCT+quantize, and the
fused JPEG simulator (colour conversion, optional 4:2:0, DCT, quantization and back)."""
import numbers

import torch

from learned_codec import _C
from learned_codec.ops._checks import (
    _check_finite,
    _check_float_nchw,
    _check_tensor,
    _launch_args,
    _same_device,
)
from learned_codec.ops.dct import pad_to_multiple

# IJG / JPEG Annex K base tables, natural (row-major) order.
JPEG_LUMA_BASE = (
    16, 11, 10, 16, 24, 40, 51, 61,
    12, 12, 14, 19, 26, 58, 60, 55,
    14, 13, 16, 24, 40, 57, 69, 56,
    14, 17, 22, 29, 51, 87, 80, 62,
    18, 22, 37, 56, 68, 109, 103, 77,
    24, 35, 55, 64, 81, 104, 113, 92,
    49, 64, 78, 87, 103, 121, 120, 101,
    72, 92, 95, 98, 112, 100, 103, 99,
)


JPEG_CHROMA_BASE = (
    17, 18, 24, 47, 99, 99, 99, 99,
    18, 21, 26, 66, 99, 99, 99, 99,
    24, 26, 56, 99, 99, 99, 99, 99,
    47, 66, 99, 99, 99, 99, 99, 99,
) + (99,) * 32


def _check_quality(quality):
    if isinstance(quality, bool) or not isinstance(quality, numbers.Integral):
        raise TypeError(f"quality must be an int in [1, 100], got {quality!r}")
    if not 1 <= quality <= 100:
        raise ValueError(f"quality must be in [1, 100], got {quality}")
    return int(quality)


def _ijg_table(quality, base):
    # IJG scaling (jcparam.c), baseline: clamp to [1, 255].
    s = 5000 // quality if quality < 50 else 200 - 2 * quality
    return [min(255, max(1, (s * b + 50) // 100)) for b in base]


def jpeg_quant_table(quality, kind="luma"):
    """The 8 x 8 JPEG quantization table of libjpeg at `quality` (1..100).

    IJG scaling: S = 5000 / QF for QF < 50, else 200 - 2 QF (integer division);
    table = clamp((S * base + 50) // 100, 1, 255), base = Annex K's luma or
    chroma table. Returns float32 (CPU), natural row-major order, the same
    values Pillow / libjpeg write with `quality=QF`.
    """
    q = _check_quality(quality)
    if kind not in ("luma", "chroma"):
        raise ValueError(f"kind must be 'luma' or 'chroma', got {kind!r}")
    base = JPEG_LUMA_BASE if kind == "luma" else JPEG_CHROMA_BASE
    return torch.tensor(_ijg_table(q, base), dtype=torch.float32).reshape(8, 8)


def _tables_for(X, table, name="X"):
    """Check `table` (8x8 or C x 8 x 8, positive) against NCHW X; contiguous float32 on X's device."""
    _check_tensor(table, "table", dims=(2, 3))
    if not table.is_floating_point():
        table = table.float()
    if table.dtype != torch.float32:
        raise TypeError(f"table must be float32 (or an integer table), got {table.dtype}")
    if tuple(table.shape[-2:]) != (8, 8):
        raise ValueError(f"table must be 8 x 8 or C x 8 x 8, got shape {tuple(table.shape)}")
    if table.dim() == 3 and table.shape[0] != X.shape[1]:
        raise ValueError(f"table has {table.shape[0]} channel tables but {name} has {X.shape[1]} channels")
    _same_device(X, table, name, "table")
    _check_finite(table, "table")
    if table.numel() and (table <= 0).any():
        raise ValueError("quantization table entries must be > 0")
    return table.reshape(-1, 64).contiguous()


def _check_blocked(X, name):
    if X.shape[-1] % 8 or X.shape[-2] % 8:
        raise ValueError(f"{name} needs H and W multiples of 8 (block_dct output), got {tuple(X.shape[-2:])}")


def quantize(X, table):
    """JPEG quantization of block-DCT coefficients: round(X / table) as int16.

    X: float32 N x C x H x W coefficients from block_dct (H, W multiples of 8).
    table: 8 x 8 (all channels) or C x 8 x 8 (one per channel), float32 or
    integer, entries > 0, on X's device. Rounding is half away from zero, like
    libjpeg; results outside int16 saturate. Returns int16, X's shape.
    """
    _check_float_nchw(X, "X")
    _check_blocked(X, "X")
    t = _tables_for(X, table)
    X = X.contiguous()
    q = torch.empty(X.shape, dtype=torch.int16, device=X.device)
    n, c, h, w = X.shape
    cuda, stream = _launch_args(X)
    if X.numel():
        _C.quantize(X.data_ptr(), q.data_ptr(), t.data_ptr(), t.shape[0], n * c, h, w, cuda, stream)
    return q


def dequantize(q, table):
    """Inverse of quantize: q (int16 N x C x H x W) times its table -> float32."""
    _check_tensor(q, "q", torch.int16, 4)
    _check_blocked(q, "q")
    t = _tables_for(q, table, "q")
    q = q.contiguous()
    X = torch.empty(q.shape, dtype=torch.float32, device=q.device)
    n, c, h, w = q.shape
    cuda, stream = _launch_args(q)
    if q.numel():
        _C.dequantize(q.data_ptr(), X.data_ptr(), t.data_ptr(), t.shape[0], n * c, h, w, cuda, stream)
    return X


def dct_quantize(x, table):
    """Fused quantize(block_dct(x), table) without the float intermediate.

    x: float32 N x C x H x W (padded like block_dct when H, W are not
    multiples of 8). Equal to the two-step result except where floating-point
    rounding of the DCT lands within one ulp of a .5 boundary.
    """
    _check_float_nchw(x, "x")
    x = pad_to_multiple(x).contiguous()
    t = _tables_for(x, table, "x")
    q = torch.empty(x.shape, dtype=torch.int16, device=x.device)
    n, c, h, w = x.shape
    cuda, stream = _launch_args(x)
    if x.numel():
        _C.dct_quantize(x.data_ptr(), q.data_ptr(), t.data_ptr(), t.shape[0], n * c, h, w, cuda, stream)
    return q


def jpeg_simulate(images, quality, subsampling="444", channels_last=None):
    """What a JPEG decoder shows after a baseline JPEG round trip, in one pass.

    images: uint8 N x H x W x 3 RGB (channels last, the default), or
    N x 3 x H x W (channels first: detected when dim 1 is 3 and the last dim
    is not, or forced with channels_last=False/True). Any H, W >= 1: edges are
    replicated to whole blocks / MCUs as libjpeg does.
    quality: an int in [1, 100], or a list of them (computed together: colour
    conversion and forward DCT run once).
    subsampling: "444" (Pillow's subsampling=0) or "420" (subsampling=2).

    Arithmetic is libjpeg's (islow integer DCT, libjpeg-turbo's quantizer,
    JFIF fixed-point colour conversion, 2x2 box downsampling and "fancy"
    upsampling), so the output is meant to equal Pillow's decode of Pillow's
    encode at the same settings. Returns uint8 in the input layout, or a list
    of such tensors (one per quality) when quality is a list.
    """
    _check_tensor(images, "images", torch.uint8, 4)
    if subsampling not in ("444", "420"):
        raise ValueError(f"subsampling must be '444' or '420', got {subsampling!r}")
    single = not isinstance(quality, (list, tuple))
    qualities = [quality] if single else list(quality)
    if not qualities:
        raise ValueError("quality list is empty")
    qualities = [_check_quality(q) for q in qualities]
    if channels_last is None:
        channels_last = not (images.shape[1] == 3 and images.shape[-1] != 3)
    x = images if channels_last else images.permute(0, 2, 3, 1)
    if x.shape[-1] != 3:
        raise ValueError(f"images must have 3 colour channels (RGB), got shape {tuple(images.shape)}")
    n, h, w, _ = x.shape
    if n and (h == 0 or w == 0):
        raise ValueError(f"images must be at least 1 x 1, got {h} x {w}")
    x = x.contiguous()
    tables = torch.tensor([_ijg_table(q, JPEG_LUMA_BASE) + _ijg_table(q, JPEG_CHROMA_BASE)
                           for q in qualities], dtype=torch.int32).to(torch.int16)
    # uint16 on the C++ side; values <= 255 so int16 storage is the same bits.
    out = torch.empty((len(qualities), n, h, w, 3), dtype=torch.uint8, device=x.device)
    cuda, stream = _launch_args(x)
    if x.numel():
        _C.jpeg_simulate(x.data_ptr(), out.data_ptr(), n, h, w, tables.data_ptr(), len(qualities),
                         subsampling == "420", cuda, stream)
    outs = [o if channels_last else o.permute(0, 3, 1, 2) for o in out]
    return outs[0] if single else outs
