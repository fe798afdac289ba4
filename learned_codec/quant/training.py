"""Latent quantization inside training (`--quant naive|affine`).

The decoder is trained on the code exactly as it will be stored, so that storing
uint8 codes costs (almost) nothing at test time - the reference quantized only
after training and named that its main weakness.

Storage rules (SPEC "Latent quantization"), reproduced here in plain torch:
    naive:  q = round(clamp(z, 0, 1) * 255) as uint8;        z' = q / 255
    affine: per frame, the range [min, max] first widened to contain 0 (so 0 is
            exact and the zero point an integer in 0..255), scale = (max - min) / 255
            (1 if max == min), zero_point = round(-min / scale),
            q = clamp(round(z / scale) + zero_point, 0, 255) as uint8;
            z' = (q - zero_point) * scale
These are ops.latent_quantize's rules, with the same float operations, so the value
training sees is bit for bit the value a stored code decodes to (tested).
"Per tensor" for affine means per frame's code tensor: each frame gets its own
scale and zero point, so a frame decodes on its own (and a batch of frames is
quantized as the frames would be one by one).

Gradient: straight-through estimator (forward uses the quantized value z',
backward passes the gradient to z unchanged: z + (z' - z).detach()). Chosen over
additive uniform noise because the decoder then sees, during training, exactly
the 256 levels it will see when decoding a file (noise shows it a continuous
neighbourhood instead, which only matters when a rate term needs a density, as
in the entropy-coded models); and at 8 bits the gradient mismatch is small. The
straight-through gradient also flows through the clamp of `naive`, so codes
outside [0, 1] keep a training signal instead of a zero gradient.
"""
import torch
import torch.nn as nn

QUANT_METHODS = ("none", "naive", "affine")
# Backward of naive's clamp: "ste" passes every gradient (the default, and how the shipped
# models were trained); "inward" passes a gradient on an entry outside [0, 1] only when it
# pulls the entry back towards the range. With "ste" the encoder can keep pushing entries
# past 0 and 1, where the stored code no longer changes (measured on the fc cpu-long run:
# 4.6 % of entries outside at its best epoch, 12.6 % sixteen epochs later, PSNR falling).
QUANT_GRADS = ("ste", "inward")
LEVELS = 255


def naive_dequantized(z):
    """The float value a naive uint8 code decodes to (no gradient trick)."""
    return torch.round(z.clamp(0, 1) * LEVELS) / LEVELS


def affine_params(z):
    """Per-frame (scale, zero_point), each shaped N x 1 x ... for broadcasting."""
    flat = z.detach().flatten(1)
    lo, hi = flat.min(dim=1).values.clamp(max=0), flat.max(dim=1).values.clamp(min=0)
    scale = (hi - lo) / LEVELS
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    zero_point = torch.round(-lo / scale)
    shape = (-1,) + (1,) * (z.dim() - 1)
    return scale.view(shape), zero_point.view(shape)


def affine_dequantized(z):
    scale, zero_point = affine_params(z)
    q = torch.clamp(torch.round(z / scale) + zero_point, 0, LEVELS)
    return (q - zero_point) * scale


class _InwardNaive(torch.autograd.Function):
    """naive_dequantized forward; backward: the gradient, except where it would push an
    entry outside [0, 1] further out (gradient descent moves z by -lr * grad)."""

    @staticmethod
    def forward(ctx, z):
        ctx.save_for_backward(z)
        return naive_dequantized(z)

    @staticmethod
    def backward(ctx, grad):
        (z,) = ctx.saved_tensors
        outward = ((z > 1) & (grad < 0)) | ((z < 0) & (grad > 0))
        return grad.masked_fill(outward, 0.0)


class StraightThroughQuantizer(nn.Module):
    """Forward: the stored (de)quantized value; backward: identity (grad="ste"), or for
    naive with grad="inward", identity except outward pushes past the clamp (QUANT_GRADS)."""

    def __init__(self, method, grad="ste"):
        super().__init__()
        if method not in ("naive", "affine"):
            raise ValueError(f"method must be naive or affine, not {method!r}")
        if grad not in QUANT_GRADS or (grad == "inward" and method != "naive"):
            raise ValueError(f"quantizer gradient must be one of {QUANT_GRADS} (inward: naive only), not {grad!r}")
        self.method, self.grad = method, grad
        self._dequantized = naive_dequantized if method == "naive" else affine_dequantized

    def forward(self, z):
        if self.grad == "inward":
            return _InwardNaive.apply(z)
        return z + (self._dequantized(z) - z).detach()

    def extra_repr(self):
        return f"method={self.method}, grad={self.grad}"


def trained_code_range(method):
    """The code range a decoder trained with `--quant method` has seen, or None.

    naive clamps to [0, 1] before rounding, so its decoder never saw a value outside;
    the encoder's raw output may lie far outside (on the shipped conv5, a fifth of the
    entries are above 1). A quantizer other than naive used at test time (k-means, none)
    must quantize the clamped code, or the decoder meets values it was never trained on
    (k-means on the raw code lost ~6 dB against naive at any k)."""
    return (0.0, 1.0) if method == "naive" else None


def make_train_quantizer(method, grad="ste"):
    """nn.Module to put in a model's `code_quantizer` slot for `--quant method`
    (`--quant-grad grad`)."""
    if method not in QUANT_METHODS:
        raise ValueError(f"quantization must be one of {QUANT_METHODS}, not {method!r}")
    return nn.Identity() if method == "none" else StraightThroughQuantizer(method, grad)
