"""Checked Python API over the native kernels of learned_codec._C.

Every op runs on the device of its input tensor (CPU, or CUDA when the
extension was built with CUDA), checks dtype, rank, shape and device first and
raises TypeError / ValueError with a clear message, then hands contiguous
buffers to the kernel. Plain PyTorch references live in ops_reference.py.

Layouts: block-DCT coefficients keep the image layout (N x C x H x W, each
8x8 block replaced by its coefficients, row-major frequency order inside the
block); quantization tables are 8 x 8 (or C x 8 x 8, one per channel).
"""
import math
import numbers

import torch
import torch.nn.functional as F

from . import _C

__all__ = [
    "block_dct", "block_idct", "cuda_available", "pad_to_multiple",
    "jpeg_quant_table", "quantize", "dequantize", "dct_quantize", "jpeg_simulate",
    "latent_quantize", "latent_dequantize", "kmeans_fit", "kmeans_assign",
    "rans_decode", "context_encode", "context_decode", "ContextModelTables",
]

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


# ---- JPEG quantization ----------------------------------------------------

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


# ---- JPEG simulator -------------------------------------------------------

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


# ---- latent quantizers ----------------------------------------------------

def latent_quantize(z, method="naive", axis=None):
    """Quantize a float32 latent code to uint8. Returns (codes, params).

    method="naive": codes = round(z * 255); z must lie in [0, 1] (e.g. after a
    sigmoid), else ValueError.
    method="affine": min/max scaling with a zero point, the range first
    widened to contain 0 (so that 0 is exact): scale = (max - min) / 255,
    zero_point = round(-min / scale), codes = clamp(round(z / scale) +
    zero_point, 0, 255). One (scale, zero_point) for the whole tensor, or per
    index of `axis` (e.g. axis=0: per sample, axis=1: per channel).
    Rounding is half to even (torch.round). params: dict with "method",
    "axis", and for affine "scale" and "zero_point" (float32 tensors of size
    z.shape[axis], or 1), which is all latent_dequantize needs.
    """
    _check_tensor(z, "z", torch.float32)
    if z.dim() == 0:
        raise ValueError("z must have at least one dimension")
    _check_finite(z, "z")
    if method not in ("naive", "affine"):
        raise ValueError(f"method must be 'naive' or 'affine', got {method!r}")
    if axis is not None:
        if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
            raise TypeError(f"axis must be an int or None, got {axis!r}")
        if not -z.dim() <= axis < z.dim():
            raise ValueError(f"axis {axis} out of range for a {z.dim()}-D tensor")
        axis = int(axis) % z.dim()
    z = z.contiguous()
    outer, groups, inner = _groups(z.shape, axis)
    if method == "naive":
        if z.numel() and (z.min() < 0 or z.max() > 1):
            raise ValueError("naive latent quantization needs z in [0, 1]; use method='affine'")
        scale = zp = torch.ones(1, dtype=torch.float32, device=z.device)
        params = {"method": "naive", "axis": None}
    else:
        zg = z.reshape(outer, groups, inner).transpose(0, 1).reshape(groups, -1)
        if zg.shape[1]:
            lo, hi = torch.aminmax(zg, dim=1)
        else:
            lo = hi = torch.zeros(groups, dtype=torch.float32, device=z.device)
        lo, hi = lo.clamp(max=0), hi.clamp(min=0)
        scale = (hi - lo) / 255
        scale = torch.where(scale > 0, scale, torch.ones_like(scale))
        zp = torch.round(-lo / scale).clamp(0, 255)
        params = {"method": "affine", "axis": axis, "scale": scale, "zero_point": zp}
    codes = torch.empty(z.shape, dtype=torch.uint8, device=z.device)
    cuda, stream = _launch_args(z)
    if z.numel():
        _C.latent_quantize(z.data_ptr(), codes.data_ptr(), scale.data_ptr(), zp.data_ptr(),
                           outer, groups, inner, method == "naive", cuda, stream)
    return codes, params


def _groups(shape, axis):
    if axis is None:
        return 1, 1, math.prod(shape)
    return math.prod(shape[:axis]), shape[axis], math.prod(shape[axis + 1:])


def latent_dequantize(codes, params):
    """Inverse of latent_quantize: uint8 codes + params -> float32, codes' shape."""
    _check_tensor(codes, "codes", torch.uint8)
    if not isinstance(params, dict) or params.get("method") not in ("naive", "affine"):
        raise ValueError("params must be the dict returned by latent_quantize")
    naive = params["method"] == "naive"
    axis = params.get("axis")
    if naive:
        scale = zp = torch.ones(1, dtype=torch.float32, device=codes.device)
        axis = None
    else:
        scale, zp = params.get("scale"), params.get("zero_point")
        for name, t in (("scale", scale), ("zero_point", zp)):
            _check_tensor(t, f"params['{name}']", torch.float32, 1)
            _same_device(codes, t, "codes", f"params['{name}']")
        if axis is not None and not 0 <= axis < codes.dim():
            raise ValueError(f"params axis {axis} does not fit codes of shape {tuple(codes.shape)}")
        n_groups = 1 if axis is None else codes.shape[axis]
        if scale.numel() != n_groups or zp.numel() != n_groups:
            raise ValueError(f"params hold {scale.numel()} scales for {n_groups} groups")
        scale, zp = scale.contiguous(), zp.contiguous()
    codes = codes.contiguous()
    outer, groups, inner = _groups(codes.shape, axis)
    z = torch.empty(codes.shape, dtype=torch.float32, device=codes.device)
    cuda, stream = _launch_args(codes)
    if codes.numel():
        _C.latent_dequantize(codes.data_ptr(), z.data_ptr(), scale.data_ptr(), zp.data_ptr(),
                             outer, groups, inner, naive, cuda, stream)
    return z


# ---- k-means --------------------------------------------------------------

def _check_points(x, name="x"):
    _check_tensor(x, name, torch.float32)
    if x.dim() == 1:
        x = x.unsqueeze(1)  # N scalars = N x 1
    if x.dim() != 2:
        raise ValueError(f"{name} must be N x d (or N), got shape {tuple(x.shape)}")
    if x.shape[1] < 1:
        raise ValueError(f"{name} must have d >= 1 columns")
    _check_finite(x, name)
    return x.contiguous()


def kmeans_fit(x, k, iters=20, seed=0):
    """k-means codebook: centroids (k x d float32, x's device) of x (N x d float32, or N).

    k-means++ seeding (one candidate per step, splitmix64 random stream from
    `seed`), then up to `iters` Lloyd iterations (stops early once labels stop
    changing); empty clusters keep their centroid. 1 <= k <= min(256, N).
    The same seed on the same device gives identical centroids.
    """
    x = _check_points(x)
    for name, v in (("k", k), ("iters", iters), ("seed", seed)):
        if isinstance(v, bool) or not isinstance(v, numbers.Integral):
            raise TypeError(f"{name} must be an int, got {v!r}")
    if not 1 <= k <= 256:
        raise ValueError(f"k must be in [1, 256] (labels are uint8), got {k}")
    if k > x.shape[0]:
        raise ValueError(f"k = {k} is larger than the number of points ({x.shape[0]})")
    if iters < 0:
        raise ValueError(f"iters must be >= 0, got {iters}")
    if not 0 <= seed < 2**64:
        raise ValueError(f"seed must be in [0, 2**64), got {seed}")
    n, d = x.shape
    c = torch.empty((k, d), dtype=torch.float32, device=x.device)
    cuda, stream = _launch_args(x)
    _C.kmeans_fit(x.data_ptr(), c.data_ptr(), n, d, k, iters, seed, cuda, stream)
    return c


def kmeans_assign(x, centroids):
    """Nearest-centroid labels (uint8, length N) of x (N x d float32, or N)
    for centroids (k x d float32, 1 <= k <= 256, same device). Squared
    Euclidean distance; ties go to the lowest index."""
    x = _check_points(x)
    _check_tensor(centroids, "centroids", torch.float32)
    c = centroids.unsqueeze(1) if centroids.dim() == 1 else centroids
    if c.dim() != 2 or c.shape[1] != x.shape[1]:
        raise ValueError(f"centroids must be k x {x.shape[1]}, got shape {tuple(centroids.shape)}")
    if not 1 <= c.shape[0] <= 256:
        raise ValueError(f"k must be in [1, 256] (labels are uint8), got {c.shape[0]}")
    _same_device(x, c, "x", "centroids")
    _check_finite(c, "centroids")
    c = c.contiguous()
    labels = torch.empty(x.shape[0], dtype=torch.uint8, device=x.device)
    cuda, stream = _launch_args(x)
    if x.shape[0]:
        _C.kmeans_assign(x.data_ptr(), c.data_ptr(), labels.data_ptr(), x.shape[0], x.shape[1],
                         c.shape[0], cuda, stream)
    return labels


class RansDecodeError(ValueError):
    """A rANS string that does not decode (damaged, truncated or not made for these tables)."""


_RANS_ERRORS = {
    -1: "the string is shorter than 8 bytes or not whole 32-bit words",
    -2: "a CDF table is not 0 .. 65536 and strictly increasing",
    -3: "a CDF index is out of range",
    -4: "the data ends before the last symbol",
    -5: "an escape (bypass) value is longer than 32 bits",
    -6: "bytes are left over after the last symbol",
}


def rans_decode(string, indexes, cdfs, cdf_lengths, offsets):
    """Decode one rANS string of CompressAI's entropy coder, bounds-checked.

    string: bytes. indexes: N ints (the CDF row of each symbol). cdfs: n_cdfs x L
    int32 CDF rows (row c valid up to cdf_lengths[c]), offsets: n_cdfs ints.
    Returns int32 numpy array of N values, equal to compressai.ans.RansDecoder's
    decode_with_indexes output for any string its encoder made. A string it did not
    make raises RansDecodeError instead of reading past the end (CompressAI's
    decoder does not check) or looping on a crafted escape length. CPU only.
    """
    import numpy as np

    data = np.frombuffer(bytes(string), dtype=np.uint8)
    idx = np.ascontiguousarray(indexes, dtype=np.int32).reshape(-1)
    table = np.ascontiguousarray(cdfs, dtype=np.int32)
    lengths = np.ascontiguousarray(cdf_lengths, dtype=np.int32).reshape(-1)
    offs = np.ascontiguousarray(offsets, dtype=np.int32).reshape(-1)
    if table.ndim != 2 or table.shape[0] < 1:
        raise ValueError(f"cdfs must be n_cdfs x L, got shape {table.shape}")
    if lengths.shape[0] != table.shape[0] or offs.shape[0] != table.shape[0]:
        raise ValueError(f"cdf_lengths and offsets need {table.shape[0]} entries, got "
                         f"{lengths.shape[0]} and {offs.shape[0]}")
    out = np.empty(idx.shape[0], dtype=np.int32)
    if data.shape[0] == 0:
        raise RansDecodeError(_RANS_ERRORS[-1])
    status = _C.rans_decode(data.ctypes.data, data.shape[0], idx.ctypes.data, idx.shape[0],
                            table.ctypes.data, table.shape[0], table.shape[1],
                            lengths.ctypes.data, offs.ctypes.data, out.ctypes.data)
    if status != 0:
        raise RansDecodeError(f"rANS string does not decode: {_RANS_ERRORS.get(status, status)}")
    return out


# ---- context-model rANS coding of palette-index images ---------------------

CONTEXT_COMPONENTS = ("W", "N", "NW", "NE", "WW", "NN")  # then "ref0", "ref1", ...
CONTEXT_MAX_SYMBOLS = 31   # symbols and reference values are < 31 (31 marks "outside")
CONTEXT_MAX_COMPONENTS = 8
CONTEXT_MAX_REFS = 8

_CONTEXT_ERRORS = {
    -11: "the context model's tables are malformed",
    -12: "a symbol or reference value is out of range",
    -13: "the data ends before the last pixel",
    -14: "the final rANS state is wrong (damaged data)",
    -15: "bytes are left over after the last pixel",
}


class ContextModelTables:
    """The integer tables of a context model (see csrc/cpu/context_coder.cpp).

    levels: list of back-off levels, most specific first, each a tuple of component
    names from CONTEXT_COMPONENTS or "refR" (reference plane R); the last level is
    () (the catch-all). keys: one sorted int64 array per level (digits in base 32,
    components in the level's order). freqs: uint16 rows x nsym, one row per key of
    every level in order, each summing to 2^16 with every entry >= 1.
    """

    def __init__(self, levels, keys, freqs):
        import numpy as np

        self.levels = [tuple(level) for level in levels]
        names = {n: i for i, n in enumerate(CONTEXT_COMPONENTS)}
        names.update({f"ref{r}": 6 + r for r in range(CONTEXT_MAX_REFS)})
        if not self.levels or self.levels[-1] != ():
            raise ValueError("the last context level must be () (the catch-all)")
        width = max(1, max(len(level) for level in self.levels))
        if width > CONTEXT_MAX_COMPONENTS:
            raise ValueError(f"a context level has more than {CONTEXT_MAX_COMPONENTS} components")
        comps = np.full((len(self.levels), width), -1, dtype=np.int32)
        for i, level in enumerate(self.levels):
            for j, name in enumerate(level):
                if name not in names:
                    raise ValueError(f"unknown context component {name!r}")
                comps[i, j] = names[name]
        self.n_refs = max([int(c) - 5 for c in comps.ravel() if c >= 6] + [0])
        if len(keys) != len(self.levels):
            raise ValueError(f"{len(self.levels)} levels but {len(keys)} key arrays")
        self.comps = comps
        self.keys = np.ascontiguousarray(np.concatenate([np.asarray(k, np.int64) for k in keys]))
        self.level_start = np.ascontiguousarray(
            np.cumsum([0] + [len(k) for k in keys]), dtype=np.int64)
        self.freqs = np.ascontiguousarray(freqs, dtype=np.uint16)
        if self.freqs.ndim != 2 or self.freqs.shape[0] != self.keys.shape[0]:
            raise ValueError(f"freqs must be {self.keys.shape[0]} x nsym, got {self.freqs.shape}")
        self.nsym = int(self.freqs.shape[1])

    def _refs(self, refs, h, w):
        import numpy as np

        refs = np.zeros((0, h, w), np.uint8) if refs is None else np.asarray(refs)
        if refs.dtype != np.uint8 or refs.ndim != 3 or refs.shape[1:] != (h, w):
            raise ValueError(f"refs must be uint8 R x {h} x {w}, got {refs.dtype} {refs.shape}")
        if refs.shape[0] < self.n_refs:
            raise ValueError(f"the model reads {self.n_refs} reference planes, got {refs.shape[0]}")
        return np.ascontiguousarray(refs)

    def _args(self):
        return (self.comps.ctypes.data, self.comps.shape[0], self.comps.shape[1],
                self.keys.ctypes.data, self.level_start.ctypes.data, self.freqs.ctypes.data, self.nsym)


def context_encode(symbols, tables, refs=None):
    """Code an H x W uint8 image of symbols < tables.nsym with a context model.

    refs: uint8 R x H x W reference planes the model's "refR" components read
    (values < 31), the same ones the decoder will have. Returns bytes. CPU only.
    """
    import numpy as np

    img = np.ascontiguousarray(symbols)
    if img.dtype != np.uint8 or img.ndim != 2:
        raise ValueError(f"symbols must be uint8 H x W, got {img.dtype} {img.shape}")
    h, w = img.shape
    r = tables._refs(refs, h, w)
    out = np.empty(2 * h * w + 4, dtype=np.uint8)
    n = _C.context_encode(img.ctypes.data, h, w, r.ctypes.data, r.shape[0], *tables._args(),
                          out.ctypes.data, out.shape[0])
    if n < 0:
        raise ValueError(f"context_encode: {_CONTEXT_ERRORS.get(n, n)}")
    return out[:n].tobytes()


def context_decode(data, height, width, tables, refs=None):
    """Inverse of context_encode -> uint8 height x width. Damaged data raises
    RansDecodeError (every byte read is bounds-checked; the final state is checked)."""
    import numpy as np

    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    h, w = int(height), int(width)
    if h < 1 or w < 1:
        raise ValueError(f"bad image size {h}x{w}")
    r = tables._refs(refs, h, w)
    out = np.zeros((h, w), dtype=np.uint8)
    status = _C.context_decode(buf.ctypes.data, buf.shape[0], h, w, r.ctypes.data, r.shape[0],
                               *tables._args(), out.ctypes.data)
    if status == -11 or status == -12:
        raise ValueError(f"context_decode: {_CONTEXT_ERRORS[status]}")
    if status != 0:
        raise RansDecodeError(f"context stream does not decode: {_CONTEXT_ERRORS.get(status, status)}")
    return out
