"""Pruning, float16 and int8 on small modules: sparsity reached, real bytes, load and run."""
import os

import numpy as np
import pytest
import torch
import torch.nn as nn

from learned_codec.model_compression.api import (apply_method, load_compressed_into, parse_variants,
                                           save_compressed)
from learned_codec.model_compression.precision import dequantize_int8, dynamic_linear_count, quantize_int8
from learned_codec.model_compression.prune import polynomial_schedule, prunable_weights, sparsity


def _net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.ConvTranspose2d(16, 8, 3, stride=2, padding=1, output_padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(8 * 16 * 16, 37), nn.ReLU(), nn.Linear(37, 10),
    ).eval()


def _x():
    return torch.randn(4, 3, 8, 8, generator=torch.Generator().manual_seed(1))


@pytest.mark.parametrize("target", [0.3, 0.5, 0.7, 0.9])
@pytest.mark.parametrize("scope", ["layer", "global"])
def test_gradual_pruning_reaches_the_requested_sparsity(target, scope):
    net = _net()
    steps_seen = []
    info = apply_method(net, "prune", sparsity_level=target, steps=3, scope=scope,
                        finetune=lambda i, s: steps_seen.append(s))
    pairs = prunable_weights(net)
    assert abs(sparsity(pairs) - target) <= 0.01
    assert abs(info["reached_sparsity"] - target) <= 0.01
    assert steps_seen == pytest.approx(polynomial_schedule(target, 3))
    assert steps_seen[-1] == pytest.approx(target) and steps_seen[0] < steps_seen[1] < steps_seen[2]
    # permanent: a plain module again, zeros in the weights, no masks or hooks
    assert not any(hasattr(m, "weight_mask") for _, m in pairs)
    assert set(net.state_dict()) == set(_net().state_dict())
    if scope == "layer":
        for name, s in info["layer_sparsity"].items():
            assert abs(s - target) <= 0.01, name


def test_sparsity_zero_is_the_fine_tuned_control():
    # prune-0 runs the same schedule and fine-tuning calls and removes nothing.
    net = _net()
    before = {k: v.clone() for k, v in net.state_dict().items()}
    steps_seen = []
    info = apply_method(net, "prune", sparsity_level=0.0, steps=3, finetune=lambda i, s: steps_seen.append(s))
    assert steps_seen == [0.0, 0.0, 0.0] and info["reached_sparsity"] == 0.0
    assert set(net.state_dict()) == set(before)
    assert all(torch.equal(net.state_dict()[k], v) for k, v in before.items())


def test_pruning_removes_the_smallest_weights():
    net = _net()
    before = {n: m.weight.detach().abs().clone() for n, m in prunable_weights(net)}
    apply_method(net, "prune", sparsity_level=0.5, steps=2)
    for name, m in prunable_weights(net):
        zero = m.weight == 0
        assert before[name][zero].max() <= before[name][~zero].min(), name


def test_finetuning_with_masks_keeps_pruned_weights_zero():
    net = _net()
    first_zeros = {}

    def finetune(step, s):  # a real training step with the masks in place
        if step == 0:
            first_zeros.update({n: (m.weight == 0).clone() for n, m in prunable_weights(net)})
        opt = torch.optim.SGD(net.parameters(), lr=0.5)
        net.train()
        net(_x()).square().mean().backward()
        opt.step()
        net.eval()

    start = {n: m.weight.detach().clone() for n, m in prunable_weights(net)}
    apply_method(net, "prune", sparsity_level=0.7, steps=3, finetune=finetune)
    for name, m in prunable_weights(net):
        assert bool((m.weight[first_zeros[name]] == 0).all()), name   # pruned stays pruned
        kept = m.weight != 0
        assert not torch.equal(m.weight[kept], start[name][kept]), name  # the rest trained


def test_prune_scope_limits_pruning_to_the_prefixes():
    net = _net()
    apply_method(net, "prune", prefixes=["6", "8"], sparsity_level=0.7, steps=1)
    assert float((net[0].weight == 0).float().mean()) == 0
    assert abs(sparsity(prunable_weights(net, ["6", "8"])) - 0.7) <= 0.01


def test_int8_per_channel_round_trip():
    w = torch.randn(5, 7, 3, 3)
    for axis in (0, 1):
        q, scale = quantize_int8(w, axis)
        assert q.dtype == torch.int8 and scale.shape == (w.shape[axis],)
        assert q.abs().max() == 127
        err = (dequantize_int8(q, scale, axis) - w).abs()
        bound = scale.reshape([-1 if d == axis else 1 for d in range(4)]) / 2
        assert bool((err <= bound + 1e-7).all())


@pytest.mark.parametrize("method, sparsity_level", [("prune", 0.9), ("fp16", None), ("int8-dynamic", None)])
def test_compressed_models_save_load_and_run(tmp_path, method, sparsity_level):
    net = _net()
    x = _x()
    with torch.no_grad():
        ref = net(x)
    dense_path = tmp_path / "dense.safetensors"
    save_compressed(dense_path, _net(), "fp16", prefixes=["nothing"])  # every tensor dense
    apply_method(net, method, sparsity_level=sparsity_level, steps=2)
    with torch.no_grad():
        ref_compressed_float = net(x)
    path = tmp_path / f"{method}.safetensors"
    sha, tensors, info = save_compressed(path, net, method)
    loaded, info2, sha2 = load_compressed_into(_net(seed=5), path)
    assert sha2 == sha and info2["method"] == method
    with torch.no_grad():
        out = loaded(x)
    assert out.shape == ref.shape and torch.isfinite(out).all()
    ratio = os.path.getsize(path) / os.path.getsize(dense_path)
    if method == "prune":
        # pruned weights are exactly the pruned float model; 90 % sparse costs ~0.53 of dense
        torch.testing.assert_close(out, ref_compressed_float)
        assert ratio < 0.6
    elif method == "fp16":
        torch.testing.assert_close(out, ref, atol=2e-2, rtol=1e-2)
        assert all(t.dtype == torch.float16 for k, t in tensors.items() if "running" in k or "weight" in k)
        assert 0.45 < ratio < 0.55
    else:
        assert dynamic_linear_count(loaded) == 2  # torch.ao dynamic int8 for both Linear layers
        torch.testing.assert_close(out, ref, atol=5e-2, rtol=5e-2)
        assert ratio < 0.3  # int8 weights (+ float32 biases, BatchNorm, scales)
        # the quantized Linear runs on exactly the stored int8 weights
        assert torch.equal(loaded[6].weight().int_repr(), tensors["6.weight::int8"])


def test_corrupt_or_foreign_files_are_refused(tmp_path):
    from learned_codec.errors import UserError

    net = _net()
    apply_method(net, "prune", sparsity_level=0.5, steps=1)
    path = tmp_path / "m.safetensors"
    save_compressed(path, net, "prune")
    data = bytearray(path.read_bytes())
    data[-3] ^= 0xFF
    bad = tmp_path / "bad.safetensors"
    bad.write_bytes(bytes(data))
    with pytest.raises(UserError, match="corrupt"):
        load_compressed_into(_net(), bad)


def test_variant_parsing():
    assert parse_variants(["prune", "fp16"], [0.3, 0.5]) == [("prune", 0.3), ("prune", 0.5), ("fp16", None)]
    with pytest.raises(ValueError, match="needs --sparsity"):
        parse_variants(["prune"], [])
    with pytest.raises(ValueError, match="between 0"):
        parse_variants(["prune"], [1.0])
    with pytest.raises(ValueError, match="between 0"):
        parse_variants(["prune"], [-0.1])
    assert parse_variants(["prune"], [0.0]) == [("prune", 0.0)]  # the fine-tuned control
    with pytest.raises(ValueError, match="unknown method"):
        parse_variants(["int4"], [])


def test_batchnorm_recalibration_matches_the_decoder_inputs():
    from learned_codec.model_compression.decoder import recalibrate_batchnorm

    class Tiny(nn.Module):
        def __init__(self):
            super().__init__()
            self.decoder = nn.Sequential(nn.Conv2d(2, 4, 1), nn.BatchNorm2d(4))

        def decode(self, code):
            return self.decoder(code)

    torch.manual_seed(0)
    model = Tiny().eval()
    inputs = torch.randn(10, 2, 3, 3) * 3 + 1
    assert recalibrate_batchnorm(model, ["decoder"], inputs, batch_size=4) == 1
    with torch.no_grad():
        pre = model.decoder[0](inputs)
    bn = model.decoder[1]
    # momentum=None: the plain average of the three batches' means (4, 4, 2 inputs), one weight per batch
    means = [pre[i:i + 4].mean(dim=(0, 2, 3)) for i in range(0, 10, 4)]
    torch.testing.assert_close(bn.running_mean, sum(means) / 3)
    assert not bn.training and bn.momentum == 0.1
