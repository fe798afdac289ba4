"""The codec's inference copy (BatchNorm folded, channels-last) computes what the model does."""
import pytest
import torch
import torch.nn as nn

from learned_codec.models import build_model, default_config
from learned_codec.models.inference import fold_batchnorm, inference_copy


def _randomise_batchnorm(model, seed=0):
    # Fresh BatchNorms are identities (mean 0, var 1, weight 1, bias 0): folding them
    # would prove nothing, so give them trained-looking statistics first.
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, nn.BatchNorm2d):
            m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.3)
            m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
            m.weight.data.copy_(torch.randn(m.num_features, generator=g) * 0.5 + 1)
            m.bias.data.copy_(torch.randn(m.num_features, generator=g) * 0.2)
    return model.eval()


@pytest.mark.parametrize("arch", ["conv4", "conv5"])
def test_inference_copy_matches_model(arch):
    torch.manual_seed(0)
    cfg = default_config(arch)
    cfg["frame_size"] = [40, 32]
    model = _randomise_batchnorm(build_model(cfg))
    fast = inference_copy(model)
    n_bn = sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert n_bn > 0 and not any(isinstance(m, nn.BatchNorm2d) for m in fast.modules())
    x = torch.rand(2, 40, 32, 3).permute(0, 3, 1, 2)  # channels-last, as the codec feeds it
    with torch.no_grad():
        code, fast_code = model.encode(x), fast.encode(x)
        assert torch.allclose(code, fast_code, atol=1e-4, rtol=1e-4)
        assert torch.allclose(model.decode(code), fast.decode(code), atol=1e-4)
    # The original is untouched (the codec hashes its weights).
    assert any(isinstance(m, nn.BatchNorm2d) for m in model.modules())


def test_fold_batchnorm_leaves_unpaired_layers():
    seq = nn.Sequential(nn.BatchNorm2d(3), nn.Conv2d(3, 4, 3), nn.ReLU(), nn.BatchNorm2d(4))
    folded = fold_batchnorm(seq)
    # A BatchNorm not directly after a conv is not folded.
    assert [type(m) for m in folded] == [nn.BatchNorm2d, nn.Conv2d, nn.ReLU, nn.BatchNorm2d]
