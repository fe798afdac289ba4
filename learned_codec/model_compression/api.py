"""One compression step on an nn.Module, and its compressed weights file.

    info = apply_method(model, "prune", prefixes, sparsity=0.7, finetune=...)   # in place
    sha = save_compressed(path, model, "prune", prefixes, extra_metadata)
    model, info, sha = load_compressed_into(build(), path)   # decoded, runnable

Variants (one per compressed model): "prune-0.3" ... "prune-0.9", "fp16", "int8-dynamic",
and "prune-0", the control: the same gradual schedule and fine-tuning with nothing
removed, so that what pruning costs is measured apart from what the extra training gives.
"""
from learned_codec.model_compression.prune import (
    gradual_prune,
    layer_sparsities,
    prunable_weights,
    sparsity,
)
from learned_codec.model_compression.storage import (
    METHODS,
    compressed_metadata,
    decode_state,
    encode_state,
    finish_model,
    plan_encodings,
)
from learned_codec.models.checkpoint import load_tensors, save_tensors

DEFAULT_SPARSITIES = (0.0, 0.3, 0.5, 0.7, 0.9)  # 0.0: the fine-tuned, unpruned control


def variant_name(method, sparsity_level=None):
    return f"prune-{sparsity_level:g}" if method == "prune" else method


def parse_variants(methods, sparsities):
    """['prune', 'fp16'] + [0.3, 0.5] -> [("prune", 0.3), ("prune", 0.5), ("fp16", None)]."""
    out = []
    for method in methods:
        if method not in METHODS:
            raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)} or all")
        if method == "prune":
            if not sparsities:
                raise ValueError("--method prune needs --sparsity")
            for s in sparsities:
                if not 0.0 <= s < 1.0:
                    raise ValueError(f"sparsity must be between 0 (the fine-tuned control) and 1 "
                                     f"(exclusive), not {s}")
                out.append(("prune", float(s)))
        else:
            out.append((method, None))
    return out


def apply_method(model, method, prefixes=None, sparsity_level=None, steps=4, scope="layer",
                 finetune=None, progress=None):
    """Change `model` in place for `method` (only pruning changes the float model; fp16
    and int8 happen at save time). Returns a JSON-able description."""
    info = {"method": method, "prefixes": prefixes}
    if method == "prune":
        pairs = prunable_weights(model, prefixes)
        plan = gradual_prune(pairs, sparsity_level, steps=steps, finetune=finetune, scope=scope,
                             progress=progress)
        info.update(requested_sparsity=sparsity_level, reached_sparsity=sparsity(pairs),
                    schedule=plan, steps=steps, scope=scope,
                    pruned_weights=sum(m.weight.numel() for _, m in pairs),
                    layer_sparsity=layer_sparsities(pairs))
    return info


def save_compressed(path, model, method, prefixes=None, extra_metadata=None):
    """Write `model`'s weights with `method`'s encodings; returns (sha256, stored tensors, info)."""
    plan = plan_encodings(model, method, prefixes)
    tensors, info = encode_state(model.state_dict(), plan, method, prefixes)
    sha = save_tensors(path, tensors, compressed_metadata(info, extra_metadata))
    return sha, tensors, info


def load_compressed_into(model, path):
    """Load a compressed weights file into a freshly built float model.

    Returns (model ready to run - int8-dynamic Linear layers replaced -, compression info,
    weights_sha256 of the stored tensors)."""
    tensors, meta = load_tensors(path)
    if "compression" not in meta:
        raise ValueError(f"{path} holds no compressed weights (no 'compression' metadata)")
    state, info = decode_state(tensors, meta["compression"])
    model.load_state_dict(state, strict=True)
    model = finish_model(model, info, tensors)
    return model.eval(), info, meta["weights_sha256"]


__all__ = ["DEFAULT_SPARSITIES", "variant_name", "parse_variants", "apply_method",
           "save_compressed", "load_compressed_into"]
