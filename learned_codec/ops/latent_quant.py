"""Latent quantizers over float codes: naive (x 255, uint8) and affine (min/max, zero point)."""
import math
import numbers

import torch

from learned_codec import _C
from learned_codec.ops._checks import (
    _check_finite,
    _check_tensor,
    _launch_args,
    _same_device,
)


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
