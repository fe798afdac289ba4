"""Video mode: latent-delta prediction decodes to exactly the image-mode frames, smaller."""
import numpy as np
import pytest
import torch

from learned_codec.models.checkpoint import weights_sha256
from learned_codec.codecs.learned import LearnedCodec
from learned_codec.container.format import ContainerError
from learned_codec.models import build_model
from learned_codec.models.registry import default_config
from learned_codec.codecs.video import LearnedVideoCodec, delta_symbols, undelta_symbols


def _static_scene_with_a_moving_sprite(n=6, h=64, w=64):
    rng = np.random.default_rng(0)
    background = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    frames = np.repeat(background[None], n, axis=0)
    for t in range(n):
        frames[t, 8:16, 4 + 6 * t:12 + 6 * t] = (255, 255, 0)
    return frames


@pytest.fixture(scope="module")
def image_codec():
    torch.manual_seed(0)
    cfg = {**default_config("conv4"), "frame_size": [64, 64]}
    model = build_model(cfg).eval()
    return LearnedCodec(model, {"model": cfg, "weights_sha256": weights_sha256(model.state_dict())},
                        quant="naive")


def test_delta_transform_inverts_for_every_gop():
    sym = np.random.default_rng(1).integers(0, 256, (7, 50), dtype=np.uint8)
    for gop in (1, 2, 3, 7):
        assert np.array_equal(undelta_symbols(delta_symbols(sym, gop), gop), sym)


@pytest.mark.parametrize("quant", ["naive", "affine", "kmeans"])
def test_video_decodes_to_image_mode_frames_and_is_smaller(image_codec, quant):
    from learned_codec.quant.latent import make_quantizer

    image_codec.quant, image_codec.quantizer = quant, make_quantizer(quant)
    frames = _static_scene_with_a_moving_sprite()
    intra = image_codec.encode(frames)
    video = LearnedVideoCodec(image_codec, gop=4)
    data = video.encode(frames)
    np.testing.assert_array_equal(video.decode(data), image_codec.decode(intra))
    if quant != "kmeans":  # kmeans labels are not stable under small code changes
        assert len(data) < len(intra)


def test_video_file_is_refused_by_the_image_decoder_and_vice_versa(image_codec):
    from learned_codec.quant.latent import make_quantizer

    image_codec.quant, image_codec.quantizer = "naive", make_quantizer("naive")
    frames = _static_scene_with_a_moving_sprite(3)
    video = LearnedVideoCodec(image_codec, gop=2)
    with pytest.raises(ContainerError, match="not a latent-delta"):
        video.decode(image_codec.encode(frames))
    data = video.encode(frames)
    for cut in (len(data) - 1, len(data) // 2, 30):
        with pytest.raises(ContainerError):
            video.decode(data[:cut])


def test_bad_gop_is_refused(image_codec):
    with pytest.raises(ValueError, match="gop"):
        LearnedVideoCodec(image_codec, gop=0)
