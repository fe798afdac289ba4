"""Compressed weights on disk: sparse, float16 and int8 tensors in one safetensors file.

A compressed model's model.safetensors holds, per state_dict entry, one of:

    dense    the tensor as it is                              KEY
    fp16     the tensor as float16                            KEY (dtype float16)
    sparse   the non-zero values (float32, row-major order)   KEY::values
             and a bitmap of the non-zero positions           KEY::mask (uint8, np.packbits,
             (1 bit per entry)                                           big bit order)
    int8     int8 values and one float32 scale per channel    KEY::int8, KEY::scale

and in its metadata "compression" (JSON): {"method", "prefixes", "tensors": {KEY:
{"encoding", "shape", "axis"}}} for every non-dense entry. So the bytes on disk are
the compressed bytes (a 90 %-sparse float32 weight costs 0.1 x 4 + 1/8 = 0.525 bytes per
entry instead of 4), and the file's `weights_sha256` (checkpoint.save_tensors) is the
SHA-256 of these stored tensors: the codec container binds the compressed weights.

decode_state() turns the file back into a float32 state_dict for build_model /
load_state_dict; finish_model() then applies the run-time part of a method (int8-dynamic:
torch.ao dynamic quantization of the Linear layers, see precision.py).
"""
import json

import numpy as np
import torch

from learned_codec.model_compression.precision import (
    dequantize_int8,
    output_channel_axis,
    quantize_int8,
    quantize_linear_dynamic,
)
from learned_codec.model_compression.prune import PRUNABLE_TYPES, in_prefixes

METHODS = ("prune", "fp16", "int8-dynamic")
SEP = "::"


def plan_encodings(model, method, prefixes=None):
    """{state_dict key: {"encoding", "axis"?}} for the entries `method` compresses."""
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, not {method!r}")
    plan = {}
    if method == "fp16":
        for key, value in model.state_dict().items():
            if value.is_floating_point() and in_prefixes(key.rsplit(".", 1)[0], prefixes):
                plan[key] = {"encoding": "fp16"}
        return plan
    for name, module in model.named_modules():
        if isinstance(module, PRUNABLE_TYPES) and in_prefixes(name, prefixes):
            key = f"{name}.weight" if name else "weight"
            if method == "prune":
                plan[key] = {"encoding": "sparse"}
            else:
                plan[key] = {"encoding": "int8",
                             "axis": output_channel_axis(type(module).__name__, module.weight.dim())}
    return plan


def encode_state(state, plan, method, prefixes=None):
    """(stored tensors, compression info) for a float state_dict and a plan."""
    tensors, info = {}, {"method": method, "prefixes": prefixes, "tensors": {}}
    for key, value in state.items():
        value = value.detach().cpu()
        spec = plan.get(key)
        if spec is None:
            tensors[key] = value
            continue
        encoding = spec["encoding"]
        entry = {"encoding": encoding, "shape": list(value.shape)}
        if encoding == "fp16":
            tensors[key] = value.to(torch.float16)
        elif encoding == "sparse":
            flat = value.float().reshape(-1)
            nonzero = flat != 0
            tensors[key + SEP + "values"] = flat[nonzero].contiguous()
            tensors[key + SEP + "mask"] = torch.from_numpy(np.packbits(nonzero.numpy()))
        elif encoding == "int8":
            q, scale = quantize_int8(value, spec["axis"])
            tensors[key + SEP + "int8"], tensors[key + SEP + "scale"] = q, scale
            entry["axis"] = spec["axis"]
        else:
            raise ValueError(f"unknown encoding {encoding!r}")
        info["tensors"][key] = entry
    return tensors, info


def decode_state(tensors, compression):
    """Stored tensors + compression info (dict or its JSON) -> (float state_dict, info)."""
    info = json.loads(compression) if isinstance(compression, str) else compression
    entries = info.get("tensors", {})
    state = {k: v for k, v in tensors.items() if SEP not in k and k not in entries}
    try:
        for key, entry in entries.items():
            shape = tuple(entry["shape"])
            encoding = entry["encoding"]
            if encoding == "fp16":
                state[key] = tensors[key].float()
            elif encoding == "sparse":
                n = int(np.prod(shape)) if shape else 1
                mask = np.unpackbits(tensors[key + SEP + "mask"].numpy(), count=n).astype(bool)
                values = tensors[key + SEP + "values"].float()
                if int(mask.sum()) != values.numel():
                    raise ValueError(f"{key}: {values.numel()} values for {int(mask.sum())} mask bits")
                dense = torch.zeros(n, dtype=torch.float32)
                dense[torch.from_numpy(mask)] = values
                state[key] = dense.reshape(shape)
            elif encoding == "int8":
                state[key] = dequantize_int8(tensors[key + SEP + "int8"], tensors[key + SEP + "scale"],
                                             int(entry["axis"])).reshape(shape)
            else:
                raise ValueError(f"{key}: unknown encoding {encoding!r}")
    except KeyError as e:
        raise ValueError(f"compressed weights lack tensor {e}") from None
    return state, info


def finish_model(model, info, tensors=None):
    """Apply the run-time part of a method to a model loaded from decode_state();
    `tensors` are the stored ones (int8-dynamic: the Linear layers use their int8)."""
    if info.get("method") == "int8-dynamic":
        int8 = {key: (tensors[key + SEP + "int8"], tensors[key + SEP + "scale"])
                for key, e in info.get("tensors", {}).items()
                if e["encoding"] == "int8" and tensors is not None and int(e.get("axis", 0)) == 0}
        model = quantize_linear_dynamic(model, info.get("prefixes"), int8)
    model.compression = info
    return model


def tensor_bytes(tensors, prefixes=None):
    """Bytes of the stored tensors whose state_dict key lies under `prefixes`."""
    total = 0
    for name, t in tensors.items():
        key = name.split(SEP, 1)[0]
        if in_prefixes(key.rsplit(".", 1)[0], prefixes):
            total += t.numel() * t.element_size()
    return total


def compressed_metadata(info, extra=None):
    """safetensors metadata for a compressed model (strings only)."""
    meta = {"compression": json.dumps(info, sort_keys=True)}
    for k, v in (extra or {}).items():
        meta[k] = v if isinstance(v, str) else json.dumps(v, sort_keys=True)
    return meta


__all__ = ["METHODS", "plan_encodings", "encode_state", "decode_state", "finish_model",
           "tensor_bytes", "compressed_metadata"]
