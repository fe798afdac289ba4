"""One place decides whether a file and a model belong together (codecs.registry), and every
wrong pairing of the shipped models is refused in one line that names the model the file needs."""
import json
import zlib

import numpy as np
import pytest

from learned_codec import cli
from learned_codec.codecs import check_model_for_file, codec_for_file, make_video_codec, open_codec
from learned_codec.container import ContainerError, unpack
from learned_codec.errors import UserError
from learned_codec.models.identity import ENTROPY_ARCHS, model_identity, shipped_names

SHIPPED = shipped_names()


def _frames(n=2):
    rng = np.random.default_rng(3)
    return rng.integers(0, 256, size=(n, 200, 160, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    """One file per shipped model (and per video mode), written through the library."""
    out = {}
    frames = _frames()
    for name in SHIPPED:
        codec = open_codec(name)
        out[(name, "image")] = codec.encode(frames)
        out[(name, "video")] = make_video_codec(codec, gop=2).encode(frames)
    return out


def test_the_shipped_models_are_the_ones_this_test_covers():
    assert SHIPPED == ["conv4", "conv5", "hyperprior", "hyperprior-0.0018", "hyperprior-0.0067", "hyperprior-0.025",
                       "palette", "palette-generic", "palette-pacman"]


def test_entropy_archs_match_the_registry():
    from learned_codec.models.registry import get_arch

    assert {a for a in ("fc", "fc-deep", "conv4", "conv5", "vae", "factorized", "hyperprior", "palette",
                         "palette-generic")
            if getattr(get_arch(a).builder, "entropy_coded", False)} == set(ENTROPY_ARCHS)


@pytest.mark.parametrize("writer", SHIPPED)
@pytest.mark.parametrize("mode", ["image", "video"])
def test_every_file_decodes_with_its_own_model_by_default(files, writer, mode):
    meta, _ = unpack(files[(writer, mode)])
    codec = codec_for_file(meta)  # no model given: the shipped one, found by the weights' hash
    assert codec.arch == model_identity(writer)[0]
    assert codec.decode(files[(writer, mode)]).shape == (2, 200, 160, 3)


@pytest.mark.parametrize("writer,reader", [(w, r) for w in SHIPPED for r in SHIPPED if w != r])
@pytest.mark.parametrize("mode", ["image", "video"])
def test_every_wrong_pairing_names_the_model_the_file_needs(files, tmp_path, capsys, writer, reader, mode):
    path = tmp_path / "f.lcf"
    path.write_bytes(files[(writer, mode)])
    rc = cli.main(["decode", str(path), "-o", str(tmp_path / "out"), "--model", reader, "--quiet"])
    err = capsys.readouterr().err
    assert rc == 2 and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"was encoded with a {model_identity(writer)[0]} model" in err
    assert f"pass --model {writer}" in err
    assert not (tmp_path / "out").exists()


def _recrc(data, edit):
    """The file with its metadata JSON edited and every CRC recomputed (a crafted header)."""
    import struct

    meta_len = struct.unpack_from("<I", data, 10)[0]
    meta = json.loads(data[22:22 + meta_len])
    edit(meta)
    body = json.dumps(meta, sort_keys=True, separators=(",", ":")).encode()
    prefix = bytearray(data[:18])
    struct.pack_into("<I", prefix, 10, len(body))
    rest = data[22 + meta_len + 4:]
    return bytes(prefix) + struct.pack("<I", zlib.crc32(bytes(prefix))) + body + \
        struct.pack("<I", zlib.crc32(body)) + rest


@pytest.mark.parametrize("mode,arch", [("latent-delta", "palette"), ("palette", "conv5"),
                                       ("entropy-delta", "conv5"), ("latent-delta", "hyperprior"),
                                       ("no-such-mode", "conv5")])
def test_a_mode_the_architecture_never_writes_is_refused(files, mode, arch):
    data = _recrc(files[(arch, "image")], lambda m: m.update(mode=mode))
    meta, _ = unpack(data)
    with pytest.raises(ContainerError, match="mode"):
        codec_for_file(meta, arch)


def test_a_quantizer_that_does_not_fit_the_architecture_is_refused(files):
    for arch, method in (("conv5", "entropy"), ("hyperprior", "naive"), ("conv5", "foo")):
        data = _recrc(files[(arch, "image")], lambda m: m["quantizer"].update(method=method))
        with pytest.raises(UserError):
            codec_for_file(unpack(data)[0], arch)


def test_an_unshipped_model_is_asked_for_by_arch_and_weights(files):
    data = _recrc(files[("conv5", "image")], lambda m: m.update(weights_sha256="ab" * 32))
    meta, _ = unpack(data)
    with pytest.raises(UserError, match="not shipped: pass --model RUN_DIR"):
        codec_for_file(meta)
    with pytest.raises(UserError, match="abababababab"):
        check_model_for_file(meta, "conv5")
