"""Gradual magnitude pruning with fine-tuning, made permanent (torch.nn.utils.prune).

    pairs = prunable_weights(model, prefixes=["decoder"])      # or None: every layer
    gradual_prune(pairs, 0.7, steps=4, finetune=lambda step: ...)
    sparsity(pairs)   # -> 0.7 (to the weight, see below)

What is pruned: the `weight` of every Conv1d/Conv2d/ConvTranspose2d/Linear layer in
scope (TensorFlow Model Optimization's prune_low_magnitude, which the reference paper
used, prunes the same kernels); biases and BatchNorm parameters stay dense.

Schedule: the polynomial (cubic) schedule of Zhu & Gupta 2017 ("To prune, or not to
prune"), which TF-MOT's PolynomialDecay also uses: at step t of T the sparsity is
s_t = s (1 - (1 - t/T)^3), so the largest cuts come first, while the weights are
still redundant, and the last steps only trim. After each step `finetune(step)` trains
the model with the masks in place (torch.nn.utils.prune keeps weight = weight_orig *
weight_mask, so pruned weights stay zero and get no gradient).

Exactness: each step asks torch.nn.utils.prune for an integer count of further weights
(the target count minus the weights already pruned), so the reached sparsity is the
request rounded to one weight per layer (scope "layer") or one weight overall
(scope "global"). "layer" gives every layer the same sparsity (TF-MOT's default);
"global" ranks all weights in scope together (layers with small weights lose more).

`make_permanent` removes the reparametrization (prune.remove): the model is a plain
module again whose weights contain the zeros; storage.py stores them sparse.
"""
import torch.nn as nn
import torch.nn.utils.prune as prune

PRUNABLE_TYPES = (nn.Conv1d, nn.Conv2d, nn.ConvTranspose2d, nn.Linear)
SCOPES = ("layer", "global")


def in_prefixes(name, prefixes):
    """True when module/tensor `name` lies under one of `prefixes` (None: everything)."""
    if prefixes is None:
        return True
    return any(name == p or name.startswith(p + ".") for p in prefixes)


def prunable_weights(model, prefixes=None):
    """[(qualified module name, module)] of the prunable layers under `prefixes`."""
    pairs = [(name, m) for name, m in model.named_modules()
             if isinstance(m, PRUNABLE_TYPES) and in_prefixes(name, prefixes)]
    if not pairs:
        raise ValueError(f"no prunable (conv/linear) layers under {prefixes}")
    return pairs


def _weight(module):
    """The effective weight (weight_orig * mask while pruning is in place)."""
    return module.weight


def sparsity(pairs):
    """Fraction of zero entries over the weights of `pairs`."""
    zeros = sum(int((_weight(m) == 0).sum()) for _, m in pairs)
    total = sum(_weight(m).numel() for _, m in pairs)
    return zeros / total


def layer_sparsities(pairs):
    return {name: float((_weight(m) == 0).float().mean()) for name, m in pairs}


def polynomial_schedule(target, steps, power=3):
    """Sparsity after each of `steps` steps: target (1 - (1 - t/steps)^power), t = 1..steps."""
    if not 0.0 <= target < 1.0:
        raise ValueError(f"sparsity must be in [0, 1), not {target}")
    if steps < 1:
        raise ValueError("pruning needs at least one step")
    return [target * (1.0 - (1.0 - t / steps) ** power) for t in range(1, steps + 1)]


def _pruned_count(module):
    mask = getattr(module, "weight_mask", None)
    return 0 if mask is None else int((mask == 0).sum())


def prune_to(pairs, amount, scope="layer"):
    """Prune (by smallest |weight|) until `amount` of the weights in `pairs` are pruned."""
    if scope not in SCOPES:
        raise ValueError(f"pruning scope must be one of {SCOPES}, not {scope!r}")
    if scope == "layer":
        for _, m in pairs:
            extra = round(amount * m.weight.numel()) - _pruned_count(m)
            prune.l1_unstructured(m, "weight", amount=max(extra, 0))
    else:
        total = sum(m.weight.numel() for _, m in pairs)
        extra = round(amount * total) - sum(_pruned_count(m) for _, m in pairs)
        prune.global_unstructured([(m, "weight") for _, m in pairs],
                                  pruning_method=prune.L1Unstructured, amount=max(extra, 0))


def make_permanent(pairs):
    """Fold the masks into the weights and drop the reparametrization."""
    for _, m in pairs:
        if prune.is_pruned(m) and hasattr(m, "weight_orig"):
            prune.remove(m, "weight")


def gradual_prune(pairs, target, steps=4, finetune=None, scope="layer", progress=None):
    """Prune `pairs` to `target` sparsity over `steps` steps, fine-tuning after each.

    finetune(step_index, step_sparsity) trains the model in place (may be None).
    progress(step_index, step_sparsity) is called after each step (e.g. to log).
    Returns the list of per-step sparsities; the masks are made permanent."""
    plan = polynomial_schedule(target, steps)
    for i, s in enumerate(plan):
        prune_to(pairs, s, scope)
        if finetune is not None:
            finetune(i, s)
        if progress is not None:
            progress(i, s)
    make_permanent(pairs)
    return plan


__all__ = ["PRUNABLE_TYPES", "SCOPES", "prunable_weights", "sparsity", "layer_sparsities",
           "polynomial_schedule", "prune_to", "make_permanent", "gradual_prune", "in_prefixes"]
