"""Reproducible scale indexes for the hyperprior: its h_s run in integer fixed point, so that
encoder and decoder choose the same CDF table on any device and thread count."""
import torch
import torch.nn as nn
import torch.nn.functional as F

WEIGHT_BITS = 16      # fractional bits of the fixed-point weights
ACT_BITS = 16         # fractional bits of the fixed-point activations
ACT_LIMIT = 1 << 32   # activations clamped to +-2^32 / 2^16 = +-65536 (far beyond real values)


class IntegerHyperSynthesis:
    """h_s (ConvT / Conv / ReLU layers) evaluated in exact int64 arithmetic on the CPU.

    Weights w_q = round(w * 2^16), biases b_q = round(b * 2^32), activations a_q with 16
    fractional bits; a layer is acc = sum(w_q * a_q) + b_q (exact int64: |acc| <=
    2^32 * sum|w_q| + |b_q|, checked below 2^62: room for sum|w| up to 2^14 per output,
    ~100x what trained h_s layers hold), then a_q' = floor((acc + 2^15) / 2^16).
    Convolutions are written as im2col (a copy, exact) + int64 matmul, so nothing
    depends on a convolution algorithm, a summation order or a thread count.
    Returns the last activation (the scales) with ACT_BITS fractional bits, int64.
    """

    def __init__(self, h_s):
        self.layers = []
        for layer in h_s:
            if isinstance(layer, (nn.Conv2d, nn.ConvTranspose2d)):
                self.layers.append(("conv", layer))
            elif isinstance(layer, nn.ReLU):
                self.layers.append(("relu", None))
            else:
                raise TypeError(f"IntegerHyperSynthesis cannot run {type(layer).__name__}")

    def __call__(self, z_hat):
        # float32 z_hat -> fixed point: a power-of-two scaling and a round, both exact.
        a = torch.round(z_hat.detach().cpu().double() * (1 << ACT_BITS)).clamp_(-ACT_LIMIT, ACT_LIMIT).long()
        for kind, layer in self.layers:
            if kind == "relu":
                a = a.clamp_(min=0)
                continue
            w, b, weight_as_conv, stride, pad = _as_conv(layer)
            w_q = torch.round(w.detach().cpu().double() * (1 << WEIGHT_BITS)).long()
            b_q = torch.round(b.detach().cpu().double() * (1 << (WEIGHT_BITS + ACT_BITS))).long()
            bound = ACT_LIMIT * w_q.abs().flatten(1).sum(1).max().item() + b_q.abs().max().item()
            if bound >= 1 << 62:
                raise OverflowError("hyper-synthesis weights too large for int64 fixed point")
            if weight_as_conv is not None:  # transposed conv -> zero-stuffed input
                a = _zero_stuff(a, layer.stride[0])
            acc = _int_conv2d(a, w_q, b_q, stride, pad)
            a = torch.div(acc + (1 << (WEIGHT_BITS - 1)), 1 << WEIGHT_BITS, rounding_mode="floor")
            a = a.clamp_(-ACT_LIMIT, ACT_LIMIT)
        return a


def _as_conv(layer):
    """(weight, bias, marker, stride, (pad_top, pad_bottom, pad_left, pad_right)) of the
    plain convolution that `layer` equals (after zero-stuffing for a transposed conv)."""
    k_h, k_w = layer.kernel_size
    if isinstance(layer, nn.ConvTranspose2d):
        if layer.dilation != (1, 1) or layer.groups != 1:
            raise TypeError("only plain transposed convolutions are supported")
        # ConvT(x, W, s, p, op) == Conv(zero_stuff(x, s) padded (k-1-p, k-1-p+op), flip(W)^T, 1)
        w = layer.weight.flip(2, 3).transpose(0, 1)
        p_h, p_w = layer.padding
        o_h, o_w = layer.output_padding
        pad = (k_h - 1 - p_h, k_h - 1 - p_h + o_h, k_w - 1 - p_w, k_w - 1 - p_w + o_w)
        return w, layer.bias, True, (1, 1), pad
    if layer.dilation != (1, 1) or layer.groups != 1:
        raise TypeError("only plain convolutions are supported")
    p_h, p_w = layer.padding
    return layer.weight, layer.bias, None, layer.stride, (p_h, p_h, p_w, p_w)


def _zero_stuff(a, stride):
    """Insert stride-1 zeros between input pixels (the input of a transposed conv)."""
    if stride == 1:
        return a
    n, c, h, w = a.shape
    out = a.new_zeros(n, c, (h - 1) * stride + 1, (w - 1) * stride + 1)
    out[..., ::stride, ::stride] = a
    return out


def _int_conv2d(a, w_q, b_q, stride, pad):
    """Exact int64 convolution: N x C x H x W (int64) with O x C x kh x kw (int64)."""
    n, c, _, _ = a.shape
    o, _, k_h, k_w = w_q.shape
    top, bottom, left, right = pad
    a = F.pad(a, (left, right, top, bottom))
    h_out = (a.shape[2] - k_h) // stride[0] + 1
    w_out = (a.shape[3] - k_w) // stride[1] + 1
    # im2col by strided views: pure indexing, no arithmetic
    cols = a.unfold(2, k_h, stride[0]).unfold(3, k_w, stride[1])  # N x C x Ho x Wo x kh x kw
    cols = cols.permute(0, 2, 3, 1, 4, 5).reshape(n, h_out * w_out, c * k_h * k_w)
    w_mat = w_q.reshape(o, -1).t()
    # Fast path: float64 matmul of integer-valued operands is exact (whatever the
    # blocking, summation order or FMA use) while every partial sum stays below 2^53;
    # the bound is checked from the actual inputs. Otherwise: int64 matmul (exact, slower).
    if cols.abs().max().item() * w_q.abs().flatten(1).sum(1).max().item() < 1 << 53:
        acc = (cols.double() @ w_mat.double()).long()
    else:
        acc = cols @ w_mat
    acc = acc + b_q
    return acc.reshape(n, h_out, w_out, o).permute(0, 3, 1, 2).contiguous()


def indexes_from_fixed_point(scales_fx, scale_table):
    """CompressAI's build_indexes on fixed-point scales: index = (L - 1) - #{k < L - 1:
    scale <= table[k]}, with table[k] turned into the same fixed point by an exact
    floor (s_fx / 2^b <= t  <=>  s_fx <= floor(t * 2^b) for an integer s_fx)."""
    table = scale_table.detach().cpu().double()
    if table.numel() == 0:
        raise RuntimeError("entropy model has no scale table: call update() first")
    thresholds = torch.floor(table[:-1] * (1 << ACT_BITS)).long()
    below = (scales_fx.unsqueeze(-1) <= thresholds).sum(-1)
    return (len(table) - 1 - below).int()
