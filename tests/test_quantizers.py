"""Latent quantizers: round trips within their stated error, damaged payloads refused."""
import numpy as np
import pytest
import torch

from learned_codec.container.format import ContainerError
from learned_codec.quant.latent import make_quantizer, pack_symbols, unpack_symbols


def _codes(shape=(4, 16, 7, 5), seed=0):
    return torch.rand(shape, generator=torch.Generator().manual_seed(seed))


def _round_trip(q, z):
    payloads, fp = q.encode(z)
    return q.decode(payloads, fp, tuple(z.shape[1:])), payloads


def test_none_is_exact():
    z = torch.randn(3, 40) * 100
    z_hat, _ = _round_trip(make_quantizer("none"), z)
    assert torch.equal(z_hat, z)


def test_naive_error_is_half_a_step():
    z = _codes()
    z_hat, payloads = _round_trip(make_quantizer("naive"), z)
    assert (z_hat - z).abs().max() <= 0.5 / 255 + 1e-6
    assert len(payloads) == len(z)


def test_affine_error_is_half_its_own_step_per_frame():
    z = _codes() * torch.tensor([1.0, 10.0, 0.1, 3.0]).view(4, 1, 1, 1) - 2
    z_hat, _ = _round_trip(make_quantizer("affine"), z)
    for f, fh in zip(z, z_hat):
        span = max(float(f.max()), 0.0) - min(float(f.min()), 0.0)  # range widened to hold 0
        assert (fh - f).abs().max() <= 0.5 * span / 255 + 1e-5


@pytest.mark.parametrize("dim", [1, 4])
def test_kmeans_maps_each_vector_to_its_nearest_centroid(dim):
    z = _codes((3, 64))
    q = make_quantizer("kmeans", k=16, dim=dim)
    payloads, fp = q.encode(z)
    z_hat = q.decode(payloads, fp, (64,))
    book = torch.from_numpy(np.frombuffer(bytes.fromhex(fp["codebook"]), "<f4").reshape(-1, dim).copy())
    x = z.reshape(-1, dim)
    nearest = book[torch.cdist(x, book).argmin(1)]
    assert torch.allclose(z_hat.reshape(-1, dim), nearest, atol=1e-6)


def test_quantizer_options_are_checked():
    with pytest.raises(ValueError, match="k must be"):
        make_quantizer("kmeans", k=300)
    with pytest.raises(ValueError, match="unknown quantizer"):
        make_quantizer("jpeg")


def test_symbol_packing_round_trip_and_never_grows_more_than_a_byte():
    rng = np.random.default_rng(0)
    for raw in (bytes(1000), rng.integers(0, 256, 1000, dtype=np.uint8).tobytes(), b""):
        packed = pack_symbols(raw)
        assert len(packed) <= len(raw) + 1
        assert unpack_symbols(packed, len(raw)) == raw


def test_damaged_payloads_are_container_errors():
    packed = pack_symbols(bytes(500))
    with pytest.raises(ContainerError, match="expected 400"):
        unpack_symbols(packed, 400)
    with pytest.raises(ContainerError):
        unpack_symbols(packed[:5], 500)
    with pytest.raises(ContainerError, match="unknown code payload coding"):
        unpack_symbols(b"\x07abc", 3)
    q = make_quantizer("affine")
    payloads, fp = q.encode(_codes((1, 10)))
    bad = b"\xff\xff\xff\xff" + payloads[0][4:]  # NaN scale
    with pytest.raises(ContainerError, match="invalid scale"):
        q.decode([bad], fp, (10,))
    k = make_quantizer("kmeans", k=4)
    payloads, fp = k.encode(_codes((1, 12)))
    with pytest.raises(ContainerError, match="codebook"):
        k.decode(payloads, {**fp, "codebook": "00"}, (12,))


def test_naive_clamps_like_the_training_quantizer():
    from learned_codec.quant.training import naive_dequantized

    z = torch.linspace(-0.5, 1.7, 200).reshape(2, 100)
    z_hat, _ = _round_trip(make_quantizer("naive"), z)
    assert torch.allclose(z_hat, naive_dequantized(z), atol=1e-7)


def test_kmeans_quantizes_the_code_range_the_decoder_was_trained_on():
    # The shipped conv5 was trained with naive (clamped to [0, 1]) codes. Its encoder's raw
    # output goes above 1 on these frames; k-means must cluster the clamped code, so that
    # with k = 256 it decodes as close to the original as naive does (on the raw code it
    # lost ~6 dB at every k: the decoder met values it had never seen).
    from learned_codec.codecs.registry import open_codec
    from learned_codec.eval.metrics import psnr

    rng = np.random.default_rng(3)
    frames = np.repeat(np.repeat(rng.integers(0, 256, (2, 25, 20, 3), dtype=np.uint8), 8, 1), 8, 2)
    naive = open_codec("conv5")
    raw = naive.runtime.encode(torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255)
    assert raw.max() > 1.0            # the case that matters is present
    assert naive.encode_codes(frames).max() <= 1.0
    kmeans = open_codec("conv5", quant="kmeans", k=256)
    p_naive = np.mean([psnr(a, b) for a, b in zip(frames, naive.decode(naive.encode(frames)))])
    p_kmeans = np.mean([psnr(a, b) for a, b in zip(frames, kmeans.decode(kmeans.encode(frames)))])
    assert p_kmeans > p_naive - 0.3, (p_kmeans, p_naive)


def test_inward_gradient_never_pushes_a_clamped_entry_further_out():
    import torch

    from learned_codec.quant.training import StraightThroughQuantizer, naive_dequantized

    z = torch.tensor([-0.5, -0.5, 0.3, 0.3, 1.5, 1.5], requires_grad=True)
    upstream = torch.tensor([1.0, -1.0, 1.0, -1.0, 1.0, -1.0])
    for grad, expected in (("ste", upstream), ("inward", torch.tensor([0.0, -1.0, 1.0, -1.0, 1.0, 0.0]))):
        z.grad = None
        out = StraightThroughQuantizer("naive", grad)(z)
        assert torch.equal(out.detach(), naive_dequantized(z.detach()))   # same forward value
        out.backward(upstream)
        assert torch.equal(z.grad, expected), grad
    with pytest.raises(ValueError):
        StraightThroughQuantizer("affine", "inward")
