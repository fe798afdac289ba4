"""Lower-precision weights: float16 and int8, tensor by tensor, and the int8 runtime.

What each method does (exactly):

fp16          Every floating-point tensor in scope (weights, biases, BatchNorm
              parameters and running statistics) is stored as IEEE float16, and turned
              back into float32 when the model loads: the arithmetic stays float32.
              This is the reference paper's TFLite "float16 quantization" as TFLite runs
              it on a CPU (half the bytes; the weights carry float16 rounding).

int8-dynamic  Every conv/linear `weight` in scope is stored as int8 with one float32
              scale per output channel (symmetric: w ~ q * scale, q in [-127, 127],
              scale = max|w| / 127 over the channel). At load:
              - nn.Linear layers go through torch.ao.quantization.quantize_dynamic with
                the per-channel dynamic qconfig: int8 weights (the same q and scales:
                re-quantizing q * scale gives q back) and activations quantized to uint8
                per batch at run time, int8 GEMM (fbgemm / qnnpack). This is PyTorch's
                dynamic quantization, the counterpart of TFLite's "dynamic range" mode.
              - conv layers: PyTorch's dynamic quantization does not cover them (only
                Linear / RNN), so they are weight-only int8: dequantized to float32 at
                load, float32 arithmetic. Bytes on disk are real int8; latency is not.
              Biases and BatchNorm stay float32 (small, and precision-sensitive).

torch.ao.quantization is deprecated in torch 2.15 (it points to torchao, not installed
here) but quantize_dynamic still works; its deprecation warning is silenced here.
"""
import warnings

import torch
import torch.nn as nn

INT8_MAX = 127


def output_channel_axis(module_type_name, ndim):
    """Axis of the output channels of a weight: 1 for transposed convs (in, out, kh, kw)."""
    if ndim <= 1:
        return 0
    return 1 if module_type_name.startswith("ConvTranspose") else 0


def quantize_int8(weight, axis=0):
    """float weight -> (int8 q, float32 scale per channel along `axis`), symmetric."""
    w = weight.detach().float()
    moved = w.movedim(axis, 0).reshape(w.shape[axis], -1)
    scale = moved.abs().amax(dim=1) / INT8_MAX
    scale = torch.where(scale > 0, scale, torch.ones_like(scale))
    q = torch.round(moved / scale[:, None]).clamp_(-INT8_MAX, INT8_MAX).to(torch.int8)
    q = q.reshape(w.movedim(axis, 0).shape).movedim(0, axis).contiguous()
    return q, scale.contiguous()


def dequantize_int8(q, scale, axis=0):
    """(int8 q, per-channel scale) -> float32 weight."""
    shape = [1] * q.dim()
    shape[axis] = -1
    return q.float() * scale.reshape(shape)


def to_fp16(tensor):
    return tensor.detach().to(torch.float16)


def quantize_linear_dynamic(model, prefixes=None, int8_weights=None):
    """torch.ao dynamic int8 quantization of the nn.Linear layers under `prefixes`.

    int8_weights: {"layer.weight": (int8 q, float32 scale)} - the stored int8 weights;
    the quantized layers then use exactly these (quantize_dynamic's own observer would
    re-quantize with max/127.5 and round a second time). Returns the model (layers
    replaced in place); CPU only, like the kernels."""
    from learned_codec.model_compression.prune import in_prefixes

    names = {name for name, m in model.named_modules()
             if type(m) is nn.Linear and in_prefixes(name, prefixes)}
    if not names:
        return model
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch.ao.quantization's deprecation notice
        from torch.ao.quantization import per_channel_dynamic_qconfig, quantize_dynamic

        model = quantize_dynamic(model.cpu(), {name: per_channel_dynamic_qconfig for name in names},
                                 dtype=torch.qint8, inplace=True)
    for name in names:
        stored = (int8_weights or {}).get(f"{name}.weight" if name else "weight")
        if stored is None:
            continue
        q, scale = stored
        layer = model.get_submodule(name)
        weight = torch._make_per_channel_quantized_tensor(
            q, scale.double(), torch.zeros(len(scale), dtype=torch.long), 0)
        layer.set_weight_bias(weight, layer.bias())
    return model


def dynamic_linear_count(model):
    """Number of torch.ao dynamically quantized Linear layers in `model`."""
    from torch.ao.nn.quantized.dynamic import Linear as DynamicLinear

    return sum(isinstance(m, DynamicLinear) for m in model.modules())


__all__ = ["quantize_int8", "dequantize_int8", "to_fp16", "quantize_linear_dynamic",
           "output_channel_axis", "dynamic_linear_count"]
