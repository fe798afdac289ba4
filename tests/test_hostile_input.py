"""Hostile and odd input (issue 20): the decode budget, the header schema, images that never
lose bits, model configs with ranges, bounded tar members, and the CLI's one-line answers."""
import io
import json
import lzma
import pickle
import tarfile
import time
import tracemalloc
import warnings
import zlib

import numpy as np
import pytest
from PIL import Image

from benchmarks.fuzz_lib import dumps, raw_pack, raw_unpack
from learned_codec import cli
from learned_codec.codecs import schema
from learned_codec.codecs.registry import codec_for_file, make_video_codec, open_codec
from learned_codec.container import ContainerError, unpack
from learned_codec.errors import UserError


@pytest.fixture(scope="module")
def conv5():
    return open_codec("conv5")


@pytest.fixture(scope="module")
def frames():
    rng = np.random.default_rng(20)
    return rng.integers(0, 256, (2, 32, 32, 3), dtype=np.uint8)


@pytest.fixture(scope="module")
def intra(conv5, frames):
    return conv5.encode(frames)


def _edit(data, edit):
    meta, sections = raw_unpack(data)
    edit(meta)
    return raw_pack(dumps(meta), sections)


def _run(argv, capsys):
    code = cli.main([str(a) for a in argv])
    out = capsys.readouterr()
    return code, out.out, out.err


# ---- 2. the header schema: one validator, before any codec is built ---------------------

def _set(path, value):
    def edit(meta):
        target = meta
        for p in path[:-1]:
            target = target[p]
        target[path[-1]] = value
    return edit


def _delete(path):
    def edit(meta):
        target = meta
        for p in path[:-1]:
            target = target[p]
        del target[path[-1]]
    return edit


BAD_HEADERS = {
    "unknown mode": (_set(["mode"], "foo"), "unknown coding mode 'foo'; known: intra"),
    "unknown arch": (_set(["arch"], "resnet"), "unknown architecture 'resnet'; known:"),
    "unknown method": (_set(["quantizer", "method"], "foo"), "quantizer 'foo'.*allowed: none, naive"),
    "entropy for conv5": (_set(["quantizer", "method"], "entropy"), "allowed: none, naive, affine, kmeans"),
    "palette mode for conv5": (_set(["mode"], "palette"), "cannot come from a 'conv5' model"),
    "entropy-delta for conv5": (_set(["mode"], "entropy-delta"), "cannot come from"),
    "code shape int": (_set(["extra", "code_shape"], 256), "code_shape' must be a list"),
    "code shape null": (_set(["extra", "code_shape"], None), "code_shape' must be a list"),
    "code shape empty": (_set(["extra", "code_shape"], []), "code_shape' must be a list"),
    "code shape zero": (_set(["extra", "code_shape"], [256, 0, 1]), "code_shape' must be a list"),
    "code shape negative": (_set(["extra", "code_shape"], [-256, 1, 1]), "code_shape' must be a list"),
    "code shape strings": (_set(["extra", "code_shape"], ["256", 1, 1]), "code_shape' must be a list"),
    "code shape huge": (_set(["extra", "code_shape"], [65536, 65536, 2]), "entries per frame, more than"),
    "code shape deep": (_set(["extra", "code_shape"], [1, 1, 1, 1, 1]), "code_shape' must be a list"),
    "code shape missing": (_delete(["extra", "code_shape"]), "lacks extra.code_shape"),
    "unknown extra": (_set(["extra", "bogus"], 1), "unknown field.*extra.bogus.*allowed: code_shape, names"),
    "unknown quantizer key": (_set(["quantizer", "k"], 3), "unknown quantizer field.*'k'"),
    "names traversal": (_set(["extra", "names"], ["../x", "y"]), "extra.names"),
    "unknown top-level": (_set(["evil"], 1), "unknown field.*'evil'"),
    "frames a string": (_set(["frames"], "2"), "'frames' is invalid"),
}


@pytest.mark.parametrize("case", sorted(BAD_HEADERS))
def test_bad_header_is_refused_before_any_model_is_loaded(case, intra, monkeypatch):
    edit, message = BAD_HEADERS[case]
    data = _edit(intra, edit)
    from learned_codec.codecs import learned
    from learned_codec.models import checkpoint

    def no_model(*a, **k):
        raise AssertionError("a model was loaded for a file whose header is invalid")

    monkeypatch.setattr(checkpoint, "load_model", no_model)
    monkeypatch.setattr(learned.LearnedCodec, "load", no_model)
    with pytest.raises(ContainerError, match=message):
        meta, _ = unpack(data)
        codec_for_file(meta)


def test_video_and_kmeans_fields(conv5, frames):
    video = make_video_codec(conv5, 2).encode(frames)
    for value in (0, -1, "2", True, None, 2 ** 40):
        meta, _ = unpack(_edit(video, _set(["extra", "gop"], value)))
        with pytest.raises(ContainerError, match="extra.gop"):
            schema.validate_header(meta)
    meta, _ = unpack(_edit(video, _set(["quantizer", "method"], "entropy")))
    with pytest.raises(ContainerError, match="allowed: none, naive, affine, kmeans"):
        schema.validate_header(meta)
    km = open_codec("conv5", quant="kmeans", k=8, dim=2, iters=2).encode(frames)
    for edit, message in [(_set(["quantizer", "k"], 0), "quantizer.k"),
                          (_set(["quantizer", "k"], 300), "quantizer.k"),
                          (_set(["quantizer", "dim"], 3), "does not divide"),
                          (_set(["quantizer", "codebook"], "zz"), "codebook must be"),
                          (_set(["quantizer", "iters"], -1), "quantizer.iters"),
                          (_delete(["quantizer", "codebook"]), "codebook must be")]:
        with pytest.raises(ContainerError, match=message):
            schema.validate_header(unpack(_edit(km, edit))[0])
    np.testing.assert_array_equal(open_codec("conv5").decode(km), open_codec("conv5", quant="kmeans").decode(km))


def test_palette_fields():
    palette = open_codec("palette")
    screens = np.zeros((3, *palette.screen_size), np.uint8)
    screens[1, 40:50, 20:40] = 4
    frames = palette.render(screens)
    data = palette.with_gop(8).encode(frames)  # 3 frames, gop 8: one group, shorter than the gop
    np.testing.assert_array_equal(palette.decode(data), frames)  # (used to be refused)
    for edit, message in [(_set(["extra", "frames_per_section"], 3), "must be the gop"),
                          (_set(["extra", "screen_size"], "x"), "screen_size"),
                          (_set(["extra", "screen_size"], [210, 0]), "screen_size"),
                          (_set(["extra", "gop"], -1), "extra.gop"),
                          (_set(["quantizer", "method"], "naive"), "allowed: context"),
                          (_set(["mode"], "latent-delta"), "cannot come from a 'palette' model")]:
        with pytest.raises(ContainerError, match=message):
            meta, _ = unpack(_edit(data, edit))
            codec_for_file(meta)


def test_video_shorter_than_its_gop_decodes(conv5, frames):
    video = make_video_codec(conv5, 30).encode(frames)  # 2 frames, gop 30 (used to be refused)
    np.testing.assert_array_equal(codec_for_file(unpack(video)[0]).decode(video), conv5.decode(conv5.encode(frames)))


def test_schema_tables_agree_with_the_registries():
    from learned_codec.codecs.registry import MODES
    from learned_codec.models.registry import FAMILIES
    from learned_codec.quant.latent import QUANTIZERS

    assert set(schema.LATENT_METHODS) == set(QUANTIZERS)
    assert set(schema.LEARNED_ARCHS) | set(schema.PALETTE_ARCHS) == set(FAMILIES)
    assert set(schema.MODE_SCHEMA) == set(MODES)


def test_json_depth_is_limited(intra):
    meta, sections = raw_unpack(intra)
    text = dumps(meta).decode()
    for depth in (17, 1000, 100000):
        deep = f'{text[:-1]},"deep":{"[" * depth}{"]" * depth}}}'.encode()
        with pytest.raises(ContainerError, match="nested deeper than 16"):
            unpack(raw_pack(deep, sections))
    meta["extra"]["names"] = ["a" * 3, "b"]
    brackets = f'{text[:-1]},"note":"{"[" * 50}"}}'.encode()  # brackets inside a string are text
    with pytest.raises(ContainerError, match="unknown field.*'note'"):
        unpack(raw_pack(brackets, sections))


def test_more_sections_than_frames_is_refused_before_the_table_is_read(intra):
    meta, sections = raw_unpack(intra)
    data = raw_pack(dumps(meta), sections + [b""] * (1 << 20))
    t0 = time.perf_counter()
    with pytest.raises(ContainerError, match="2 frames but 1048578 sections"):
        unpack(data)
    assert time.perf_counter() - t0 < 0.5


# ---- 1. the decode budget -------------------------------------------------------------------

def _huge_conv5_file(conv5, frames=16):
    """The issue's 4.3 KB file: 4096x4096 conv5 frames, tiny zlib sections of zeros."""
    from learned_codec.container import Meta, pack
    from learned_codec.quant.packing import pack_symbols

    section = pack_symbols(bytes(256 * 128 * 128))
    meta = Meta(arch="conv5", weights_sha256=conv5.weights_sha256, height=4096, width=4096, frames=frames,
                quantizer={"method": "naive"}, mode="intra", extra={"code_shape": [256, 128, 128]})
    return pack(meta, [section] * frames)


def test_budget_refuses_a_small_file_that_asks_for_gigabytes(conv5, tmp_path, capsys, monkeypatch):
    data = _huge_conv5_file(conv5)
    assert len(data) < 100_000
    path = tmp_path / "huge.lcf"
    path.write_bytes(data)
    from learned_codec.models import checkpoint

    monkeypatch.setattr(checkpoint, "load_model", lambda *a, **k: pytest.fail("model loaded"))
    code, _, err = _run(["decode", path, "-o", tmp_path / "out.png"], capsys)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "needs about" in err and "more than the 2147483648 bytes (2.0 GiB) allowed" in err
    assert not (tmp_path / "out.png").exists()
    with pytest.raises(UserError, match="needs about"):  # the codec refuses it on its own too
        conv5.decode(data)


def test_budget_estimate_is_above_what_decoding_uses(conv5):
    """One 512x512 frame: measured peak of the decode (tracemalloc: numpy; torch's own
    allocations are not seen by it, so also a bound from the estimate's parts)."""
    frames = np.random.default_rng(1).integers(0, 256, (1, 512, 512, 3), dtype=np.uint8)
    data = conv5.encode(frames)
    meta, _ = unpack(data)
    need = schema.decode_memory(meta)
    assert need >= 512 * 512 * (2 * 3 + schema.ACT_BYTES_PER_PIXEL)
    import resource
    import subprocess
    import sys

    code = ("import resource,sys;from learned_codec.codecs.registry import open_codec;"
            "c=open_codec('conv5');d=open(sys.argv[1],'rb').read();"
            "b=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss;c.decode(d);"
            "print((resource.getrusage(resource.RUSAGE_SELF).ru_maxrss-b)*1024)")
    import tempfile

    with tempfile.NamedTemporaryFile(suffix=".lcf") as f:
        f.write(data)
        f.flush()
        used = int(subprocess.run([sys.executable, "-c", code, f.name], capture_output=True, text=True,
                                  check=True).stdout.split()[-1])
    assert used < need, (used, need)
    del resource


def test_max_memory_flag_and_environment(intra, tmp_path, capsys, monkeypatch):
    path = tmp_path / "x.lcf"
    path.write_bytes(intra)
    code, _, err = _run(["decode", path, "-o", tmp_path / "a", "--max-memory", "1K"], capsys)
    assert code == 2 and "more than the 1024 bytes" in err and not (tmp_path / "a").exists()
    code, _, err = _run(["decode", path, "-o", tmp_path / "a", "--max-memory", "lots"], capsys)
    assert code == 2 and "not a size" in err
    monkeypatch.setenv(schema.MAX_MEMORY_ENV, "2K")
    code, _, err = _run(["decode", path, "-o", tmp_path / "a"], capsys)
    assert code == 2 and "more than the 2048 bytes" in err
    code, out, err = _run(["decode", path, "-o", tmp_path / "a", "--max-memory", "512M", "--quiet"], capsys)
    assert code == 0 and json.loads(out)["files_written"] == 2


@pytest.mark.parametrize("text,value", [("123", 123), ("1K", 1024), ("512M", 512 << 20), ("4G", 4 << 30),
                                        ("1.5GiB", 3 << 29), ("2gb", 2 << 30), ("1T", 1 << 40)])
def test_parse_size(text, value):
    assert schema.parse_size(text) == value


@pytest.mark.parametrize("text", ["", "-1", "0", "x", "1Q", "1e9"])
def test_parse_size_refuses(text):
    with pytest.raises(UserError):
        schema.parse_size(text)


@pytest.mark.parametrize("method", ["zlib", "lzma"])
def test_decompression_stops_at_the_size_the_header_allows(method):
    from learned_codec.quant.packing import unpack_symbols

    bomb = bytes(200 << 20)  # 200 MB of zeros: ~200 KB of zlib, ~30 KB of LZMA
    if method == "zlib":
        payload = b"\x01" + zlib.compress(bomb, 9)
    else:
        from learned_codec.quant.packing import _lzma_filters

        payload = b"\x02" + lzma.compress(bomb, format=lzma.FORMAT_RAW, filters=_lzma_filters(len(bomb)))
    tracemalloc.start()
    try:
        with pytest.raises(ContainerError, match="expected 1000"):
            unpack_symbols(payload, 1000)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1 << 20


# ---- decode CLI: stale frames, one-line errors -------------------------------------------------

def test_decode_into_a_folder_removes_stale_frames_only(intra, tmp_path, capsys):
    path, out = tmp_path / "x.lcf", tmp_path / "frames"
    path.write_bytes(intra)
    out.mkdir()
    for name in ("frame_00001.png", "frame_00007.png", "frame_12.png", "notes.txt", "mine.png"):
        (out / name).write_bytes(b"old")
    code, _, _ = _run(["decode", path, "-o", out, "--quiet"], capsys)
    assert code == 0
    assert sorted(p.name for p in out.iterdir()) == ["frame_00000.png", "frame_00001.png", "frame_12.png",
                                                     "mine.png", "notes.txt"]
    assert (out / "frame_00001.png").read_bytes() != b"old"


def test_encode_to_an_existing_folder_is_one_line(tmp_path, capsys, frames):
    Image.fromarray(frames[0]).save(tmp_path / "in.png")
    (tmp_path / "out.lcf").mkdir()
    code, _, err = _run(["encode", tmp_path / "in.png", "-o", tmp_path / "out.lcf", "--model", "conv5",
                         "--quiet"], capsys)
    assert code == 2 and "is a folder" in err and len(err.strip().splitlines()) == 1


def test_single_image_encode_gives_no_numpy_warning(tmp_path, capsys, frames):
    Image.fromarray(frames[0]).save(tmp_path / "in.png")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        code, _, _ = _run(["encode", tmp_path / "in.png", "-o", tmp_path / "x.lcf", "--model", "conv5",
                           "--quiet"], capsys)
    assert code == 0
    assert not [w for w in caught if "not writable" in str(w.message)]


# ---- 3. images that never lose bits -------------------------------------------------------------

def _png16(path, array, colortype):
    """A 16-bit PNG written by hand (Pillow writes I;16 but not 48-bit RGB)."""
    import struct

    h, w = array.shape[:2]

    def chunk(t, d):
        return struct.pack(">I", len(d)) + t + d + struct.pack(">I", zlib.crc32(t + d) & 0xFFFFFFFF)

    rows = b"".join(b"\x00" + array[y].astype(">u2").tobytes() for y in range(h))
    ihdr = struct.pack(">IIBBBBB", w, h, 16, colortype, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(rows))
                     + chunk(b"IEND", b""))


def _make(kind, path):
    rng = np.random.default_rng(3)
    if kind == "grey16":
        _png16(path, rng.integers(0, 65536, (8, 8), dtype=np.uint16), 0)
    elif kind == "rgb48":
        _png16(path, rng.integers(0, 65536, (8, 8, 3), dtype=np.uint16), 2)
    elif kind == "rgba64":
        _png16(path, rng.integers(0, 65536, (8, 8, 4), dtype=np.uint16), 6)
    elif kind == "rgba":
        a = rng.integers(0, 256, (8, 8, 4), dtype=np.uint8)
        a[0, 0, 3] = 10
        Image.fromarray(a, "RGBA").save(path)
    elif kind == "grey+alpha":
        Image.fromarray(rng.integers(0, 256, (8, 8, 2), dtype=np.uint8), "LA").save(path)
    elif kind == "cmyk":
        Image.new("CMYK", (8, 8), (10, 20, 30, 40)).save(path, format="TIFF")
    elif kind == "animated":
        fr = [Image.new("RGB", (8, 8), (i * 50, 0, 0)) for i in range(3)]
        fr[0].save(path, format="PNG", save_all=True, append_images=fr[1:])
    elif kind == "palette-transparent":
        im = Image.fromarray(rng.integers(0, 4, (8, 8), dtype=np.uint8), "P")
        im.putpalette([0, 0, 0, 255, 0, 0, 0, 255, 0, 0, 0, 255])
        im.save(path, transparency=1)


@pytest.mark.parametrize("kind,message", [
    ("grey16", "more than 8 bits per channel"), ("rgb48", "more than 8 bits per channel"),
    ("rgba64", "more than 8 bits per channel"), ("rgba", "transparent pixels"),
    ("grey+alpha", "transparent pixels"), ("cmyk", "CMYK image"), ("animated", "animated \\(3 frames\\)"),
    ("palette-transparent", "transparent pixels")])
def test_lossy_image_inputs_are_refused(kind, message, tmp_path, capsys):
    from data_tools.sources import load_image_folder, read_image_exact

    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "img.png"
    _make(kind, path)
    with pytest.raises(UserError, match=message):
        read_image_exact(path)
    with pytest.raises(UserError, match=message):
        load_image_folder(folder)
    code, _, err = _run(["encode", path, "-o", tmp_path / "x.lcf", "--model", "palette", "--quiet"], capsys)
    assert code == 2 and ("supported" in err or "animated" in err)
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "x.lcf").exists()


def test_exact_conversions(tmp_path):
    from data_tools.sources import read_image_exact

    rng = np.random.default_rng(4)
    rgb = rng.integers(0, 256, (6, 9, 3), dtype=np.uint8)
    grey = rng.integers(0, 256, (6, 9), dtype=np.uint8)
    Image.fromarray(grey).save(tmp_path / "g.png")
    np.testing.assert_array_equal(read_image_exact(tmp_path / "g.png"), np.repeat(grey[..., None], 3, -1))
    colours = rng.integers(0, 256, (16, 3), dtype=np.uint8)
    idx = rng.integers(0, 16, (6, 9), dtype=np.uint8)
    im = Image.fromarray(idx, "P")
    im.putpalette(colours.ravel().tolist())
    im.save(tmp_path / "p.png")
    np.testing.assert_array_equal(read_image_exact(tmp_path / "p.png"), colours[idx])
    Image.fromarray(np.dstack([rgb, np.full((6, 9), 255, np.uint8)]), "RGBA").save(tmp_path / "a.png")
    np.testing.assert_array_equal(read_image_exact(tmp_path / "a.png"), rgb)
    exif = Image.Exif()
    exif[0x0112] = 6  # "rotate 90 CW to view"
    Image.fromarray(rgb).save(tmp_path / "r.png", exif=exif)
    out = read_image_exact(tmp_path / "r.png")
    np.testing.assert_array_equal(out, np.rot90(rgb, -1))
    assert out.flags.writeable


# ---- 4. model configs with ranges ----------------------------------------------------------------

@pytest.mark.parametrize("config,message", [
    ({"arch": "conv5", "code_channels": -1}, "code_channels=-1.*in \\[1, 4096\\]"),
    ({"arch": "conv5", "code_channels": 200000}, "code_channels"),
    ({"arch": "conv5", "code_channels": 10 ** 9}, "code_channels"),
    ({"arch": "conv5", "code_channels": 2.5}, "code_channels"),
    ({"arch": "conv5", "frame_size": "x"}, "frame_size"),
    ({"arch": "conv4", "frame_size": [-200, 160]}, "frame_size"),
    ({"arch": "conv4", "frame_size": [100000, 100000]}, "frame_size"),
    ({"arch": "hyperprior", "N": 0}, "N=0"),
    ({"arch": "hyperprior", "M": True}, "M=True"),
    ({"arch": "hyperprior", "lmbda": -1}, "lmbda"),
    ({"arch": "fc", "code_size": 10 ** 9}, "code_size"),
    ({"arch": "fc", "code_size": 1 << 20}, "parameters"),
    ({"arch": "vae", "code_size": 1 << 20}, "parameters"),
    ({"arch": "fc-deep", "hidden": [-1]}, "hidden"),
    ({"arch": "fc", "grid": [0, 4]}, "grid"),
    ({"arch": "palette", "backgrounds": 64}, "backgrounds"),
])
def test_model_config_ranges(config, message):
    from learned_codec.models.registry import build_model, get_arch

    get_arch(config["arch"])  # its family imported (CompressAI: seconds) before the clock starts
    t0 = time.perf_counter()
    with pytest.raises(UserError, match=message):
        build_model(config)
    assert time.perf_counter() - t0 < 5  # refused, never built


# ---- 6. tar members ----------------------------------------------------------------------------

def test_cifar_member_claiming_too_much_is_refused_before_reading(tmp_path):
    from data_tools import sources

    path = tmp_path / "c.tar"
    with tarfile.open(path, "w") as tar:
        meta = pickle.dumps({"label_names": [f"c{i}" for i in range(10)]})
        info = tarfile.TarInfo("cifar-10-batches-py/batches.meta")
        info.size = len(meta)
        tar.addfile(info, io.BytesIO(meta))
        info = tarfile.TarInfo("cifar-10-batches-py/data_batch_1")
        info.size = sources.MAX_MEMBER_BYTES + 1
        tar.addfile(info, io.BytesIO(bytes(info.size)))
    tracemalloc.start()
    try:
        with pytest.raises(UserError, match="data_batch_1 claims 67108865 bytes"):
            sources.load_cifar10(path, "train")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 << 20


def test_cifar_member_read_in_chunks(tmp_path, monkeypatch):
    from data_tools import sources

    monkeypatch.setattr(sources, "READ_CHUNK", 7)
    path = tmp_path / "c.tar"
    blob = bytes(range(256)) * 3
    with tarfile.open(path, "w") as tar:
        info = tarfile.TarInfo("x/blob")
        info.size = len(blob)
        tar.addfile(info, io.BytesIO(blob))
    with tarfile.open(path) as tar:
        members = {"blob": tar.getmember("x/blob")}
        assert sources.read_member(tar, members, "blob", path) == blob


# ---- 5. a failed classify train leaves no folder --------------------------------------------------

def test_failed_classify_train_leaves_no_output_folder(tmp_path, capsys):
    out = tmp_path / "run"
    code, _, err = _run(["classify", "train", "--dataset", "folder", "--folder", tmp_path / "none",
                         "--out", out, "--quiet"], capsys)
    assert code == 2 and "does not exist" in err
    assert not out.exists()
