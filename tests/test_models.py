"""Model zoo: reference parameter counts, shapes, value ranges, size rules, training quantizers."""
import numpy as np
import pytest
import torch

from learned_codec import ops
from learned_codec.errors import UserError
from learned_codec.models import (
    arch_names,
    build_model,
    count_parameters,
    default_config,
    frames_to_tensor,
    tensor_to_frames,
)
from learned_codec.quant.training import (
    affine_params,
    make_train_quantizer,
)

# The reference report's numbers (conv/VAE totals; FC per block, 16 blocks per model).
REFERENCE_PARAMS = {
    "conv4": 588_585,
    "conv5": 2_360_745,
    "vae": 102_452_361,  # "102.45 M"
}
FC_PER_BLOCK = {"fc": 12_007_000, "fc-deep": 51_856_600}  # "51.86 M" for fc-deep


def test_all_archs_registered():
    assert set(arch_names()) >= {"fc", "fc-deep", "conv4", "conv5", "vae"}


@pytest.mark.parametrize("arch", sorted(REFERENCE_PARAMS))
def test_reference_parameter_counts(arch):
    assert count_parameters(default_config(arch)) == REFERENCE_PARAMS[arch]


def test_vae_rounds_to_the_reported_102_45_million():
    assert round(count_parameters({"arch": "vae"}) / 1e6, 2) == 102.45


@pytest.mark.parametrize("arch", sorted(FC_PER_BLOCK))
def test_fc_parameter_counts_per_block_and_per_position(arch):
    shared = count_parameters({"arch": arch, "blocks": "shared"})
    per_position = count_parameters({"arch": arch})  # built on the meta device: no memory
    assert shared == FC_PER_BLOCK[arch]
    assert per_position == 16 * FC_PER_BLOCK[arch]


def test_fc_deep_block_really_instantiated_has_51_86_million():
    model = build_model({"arch": "fc-deep", "blocks": "shared"})
    n = sum(p.numel() for p in model.parameters())
    assert n == 51_856_600 and round(n / 1e6, 2) == 51.86
    widths = [m.out_features for m in model.blocks[0].modules() if isinstance(m, torch.nn.Linear)]
    assert widths == [3200, 1600, 1000, 1600, 3200, 6000]


@pytest.mark.parametrize(
    "config, code_shape",
    [
        ({"arch": "conv4"}, (2, 128, 13, 10)),
        ({"arch": "conv5"}, (2, 256, 7, 5)),
        ({"arch": "vae", "code_size": 32}, (2, 32)),
        ({"arch": "fc", "code_size": 12}, (2, 16, 12)),
        ({"arch": "fc-deep", "code_size": 12, "hidden": [40, 20]}, (2, 16, 12)),
        ({"arch": "fc-deep", "code_size": 12, "hidden": [40, 20], "blocks": "shared"}, (2, 16, 12)),
    ],
)
def test_encode_decode_forward_shapes_and_range(config, code_shape):
    torch.manual_seed(0)
    model = build_model(config).eval()
    x = torch.rand(2, 3, 200, 160)
    with torch.no_grad():
        code = model.encode(x)
        x_hat = model.decode(code)
        out = model(x)
    assert tuple(code.shape) == code_shape
    assert x_hat.shape == x.shape and out["x_hat"].shape == x.shape
    assert torch.equal(out["x_hat"], x_hat)  # eval forward == decode(encode(x)): no sampling
    assert float(x_hat.min()) >= 0.0 and float(x_hat.max()) <= 1.0


def test_reference_code_sizes():
    """Bottlenecks of the report: conv4 16,640; conv5 8,960 entries per 200x160 frame."""
    x = torch.rand(1, 3, 200, 160)
    with torch.no_grad():
        assert build_model({"arch": "conv4"}).eval().encode(x).numel() == 16_640
        assert build_model({"arch": "conv5"}).eval().encode(x).numel() == 8_960


@pytest.mark.parametrize("arch", ["conv4", "conv5"])
def test_conv_models_pad_any_size_and_crop_back(arch):
    model = build_model({"arch": arch}).eval()
    x = torch.rand(1, 3, 37, 51)
    with torch.no_grad():
        assert model(x)["x_hat"].shape == x.shape
        code = model.encode(x)
        assert model.decode(code, size=(37, 51)).shape == x.shape


def test_conv_output_is_sigmoid_not_relu():
    model = build_model({"arch": "conv4"})
    assert isinstance(model.decoder[-1][-1], torch.nn.Sigmoid)


@pytest.mark.parametrize("config", [{"arch": "fc", "code_size": 4}, {"arch": "vae", "code_size": 4}])
def test_fixed_size_models_refuse_other_frame_sizes(config):
    model = build_model(config)
    with pytest.raises(UserError, match="200x160"):
        model(torch.rand(1, 3, 208, 160))


def test_vae_samples_in_training_and_decodes_the_mean_in_eval():
    torch.manual_seed(0)
    model = build_model({"arch": "vae", "code_size": 8})
    x = torch.rand(2, 3, 200, 160)
    model.train()
    a, b = model(x)["x_hat"], model(x)["x_hat"]
    assert not torch.equal(a, b)
    model.eval()
    with torch.no_grad():
        out = model(x)
        assert torch.equal(out["x_hat"], model(x)["x_hat"])
        assert torch.equal(out["code"], out["mu"])


def test_blocks_are_a_4x4_grid_of_50x40_and_round_trip():
    model = build_model({"arch": "fc", "code_size": 4})
    x = torch.rand(2, 3, 200, 160)
    blocks = model.to_blocks(x)
    assert blocks.shape == (2, 16, 6000)
    # block 5 = grid row 1, column 1: rows 50..99, columns 40..79
    assert torch.equal(blocks[:, 5].view(2, 3, 50, 40), x[:, :, 50:100, 40:80])
    assert torch.equal(model.from_blocks(blocks), x)


@pytest.mark.parametrize("blocks", ["per-position", "shared"])
def test_fc_init_from_mean_centres_inputs_and_starts_at_the_mean(blocks):
    model = build_model({"arch": "fc", "code_size": 4, "blocks": blocks})
    mean = torch.rand(3, 200, 160)
    model.init_from_mean(mean)
    expected = model.to_blocks(mean[None])[0]
    if blocks == "shared":
        expected = expected.mean(dim=0, keepdim=True)
    assert torch.equal(model.input_mean, expected)
    assert torch.equal(model.blocks[-1].decoder[-1].bias, expected[-1])
    assert "input_mean" in model.state_dict()  # saved with the weights, not a parameter
    assert count_parameters(model) == count_parameters({"arch": "fc", "code_size": 4, "blocks": blocks})


def test_frames_are_transposed_not_reshaped():
    frames = np.zeros((1, 200, 160, 3), np.uint8)
    frames[..., 0] = 255  # pure red
    x = frames_to_tensor(frames)
    assert x.shape == (1, 3, 200, 160)
    assert float(x[0, 0].min()) == 1.0 and float(x[0, 1:].max()) == 0.0
    assert np.array_equal(tensor_to_frames(x), frames)


def test_unknown_arch_and_options_are_user_errors():
    with pytest.raises(UserError, match="unknown architecture"):
        build_model({"arch": "resnet"})
    with pytest.raises(UserError, match="unknown option"):
        build_model({"arch": "conv4", "code_size": 10})
    with pytest.raises(UserError):
        build_model({"arch": "fc", "blocks": "sometimes"})


# ---- training quantizers ----------------------------------------------------------

def test_naive_straight_through_forward_is_stored_value_and_gradient_is_identity():
    z = torch.tensor([[-0.2, 0.0, 0.3337, 0.5, 1.0, 1.7]], requires_grad=True)
    q = make_train_quantizer("naive")(z)
    expected = torch.round(z.detach().clamp(0, 1) * 255) / 255
    assert torch.allclose(q, expected, atol=1e-7)
    q.sum().backward()
    assert torch.equal(z.grad, torch.ones_like(z))
    codes, params = ops.latent_quantize(z.detach().clamp(0, 1), method="naive")
    assert codes.dtype == torch.uint8
    assert torch.equal(ops.latent_dequantize(codes, params), q.detach())  # what storage decodes


def test_affine_is_per_frame_and_within_one_step():
    torch.manual_seed(0)
    # frame 0 all positive (the range is widened to include 0), frame 1 around 0
    z = torch.stack([torch.randn(16, 10) * 3 + 12, torch.rand(16, 10) * 0.01 - 0.004]).requires_grad_()
    q = make_train_quantizer("affine")(z)
    scale, _ = affine_params(z)
    assert scale.shape == (2, 1, 1) and scale[0] > 100 * scale[1]  # one scale per frame
    err = (q - z).abs().flatten(1).max(dim=1).values
    assert bool((err <= scale.flatten() * 1.0001).all())
    q.sum().backward()
    assert torch.equal(z.grad, torch.ones_like(z))
    # Storage (ops.latent_quantize, per frame, as AffineQuantizer) decodes to exactly
    # the value training saw.
    for frame, seen in zip(z.detach(), q.detach()):
        codes, params = ops.latent_quantize(frame, method="affine")
        assert codes.dtype == torch.uint8 and int(codes.max()) >= 254
        assert torch.equal(ops.latent_dequantize(codes, params), seen)


def test_none_quantizer_is_identity():
    z = torch.randn(3, 4)
    assert torch.equal(make_train_quantizer("none")(z), z)
    with pytest.raises(ValueError):
        make_train_quantizer("kmeans")
