"""The .lcf container: round trip, and every kind of damage is a clean error."""
import random
import struct

import pytest
from hypothesis import given, settings, strategies as st

from learned_codec.container import format as container
from learned_codec.container.format import ContainerError, Meta, pack, unpack


def _meta(**kw):
    base = dict(arch="conv5", height=200, width=160, frames=3, fps=15.0,
                quantizer={"method": "affine", "bits": 8}, weights_sha256="ab" * 32,
                mode="image", extra={"note": "x"})
    base.update(kw)
    return Meta(**base)


SECTIONS = [b"frame-0 payload", b"", b"\x00\xff" * 100]


def test_round_trip():
    meta, sections = unpack(pack(_meta(), SECTIONS))
    assert meta == _meta()
    assert sections == SECTIONS


def test_size_is_header_plus_payload():
    data = pack(_meta(), SECTIONS)
    meta_len = struct.unpack_from("<I", data, 10)[0]
    overhead = 22 + meta_len + 4 + 8 * len(SECTIONS) + 4
    assert len(data) == overhead + sum(map(len, SECTIONS))


@pytest.mark.parametrize("mutate, message", [
    (lambda d: b"PNG" + d[3:], "wrong magic"),
    (lambda d: d[:8] + struct.pack("<H", 2) + d[10:], "header is corrupt"),
    (lambda d: d[:-1], "truncated"),
    (lambda d: d + b"\x00", "unexpected bytes"),
    (lambda d: d[:30], "truncated"),
    (lambda d: d[:-3] + bytes([d[-3] ^ 0x10]) + d[-2:], "section 2 is corrupt"),
])
def test_damage_is_detected(mutate, message):
    with pytest.raises(ContainerError, match=message):
        unpack(mutate(pack(_meta(), SECTIONS)))


def test_wrong_version_with_valid_crc_is_reported():
    data = bytearray(pack(_meta(), SECTIONS))
    struct.pack_into("<H", data, 8, 9)
    struct.pack_into("<I", data, 18, container._crc(bytes(data[:18])))
    with pytest.raises(ContainerError, match="unsupported .lcf version 9"):
        unpack(bytes(data))


def test_huge_declared_sizes_are_refused_without_allocating():
    data = bytearray(pack(_meta(), SECTIONS))
    struct.pack_into("<I", data, 14, 0xFFFFFFFF)  # n_sections
    struct.pack_into("<I", data, 18, container._crc(bytes(data[:18])))
    with pytest.raises(ContainerError, match="section count"):
        unpack(bytes(data))
    data = bytearray(pack(_meta(), SECTIONS))
    struct.pack_into("<I", data, 10, 0x7FFFFFFF)  # meta_len
    struct.pack_into("<I", data, 18, container._crc(bytes(data[:18])))
    with pytest.raises(ContainerError, match="metadata length"):
        unpack(bytes(data))


@pytest.mark.parametrize("bad", [
    dict(height=0), dict(width=10**9), dict(frames=-1), dict(fps=0),
    dict(weights_sha256="xyz"), dict(arch=""), dict(quantizer={"bits": 8}),
])
def test_invalid_metadata_is_refused(bad):
    with pytest.raises(ContainerError):
        pack(_meta(**bad), SECTIONS)


def test_read_file_errors_are_user_errors(tmp_path):
    with pytest.raises(container.UserError, match="cannot read"):
        container.read_file(tmp_path / "missing.lcf")
    p = tmp_path / "x.lcf"
    p.write_bytes(pack(_meta(), SECTIONS))
    assert container.read_file(p)[1] == SECTIONS


GOOD = pack(_meta(frames=2), [b"a" * 50, b"b" * 70])


@settings(max_examples=3000, deadline=None)
@given(st.data())
def test_fuzzed_files_never_crash(data):
    """Truncations, bit flips, random overwrites and random bytes: valid or ContainerError."""
    kind = data.draw(st.sampled_from(["truncate", "flip", "overwrite", "random", "insert"]))
    blob = bytearray(GOOD)
    if kind == "truncate":
        blob = blob[:data.draw(st.integers(0, len(blob) - 1))]
    elif kind == "flip":
        for _ in range(data.draw(st.integers(1, 8))):
            i = data.draw(st.integers(0, len(blob) - 1))
            blob[i] ^= 1 << data.draw(st.integers(0, 7))
    elif kind == "overwrite":
        i = data.draw(st.integers(0, len(blob) - 1))
        chunk = data.draw(st.binary(min_size=1, max_size=16))
        blob[i:i + len(chunk)] = chunk
    elif kind == "insert":
        i = data.draw(st.integers(0, len(blob)))
        blob[i:i] = data.draw(st.binary(min_size=1, max_size=8))
    else:
        blob = bytearray(container.MAGIC + data.draw(st.binary(max_size=200)))
    try:
        meta, sections = unpack(bytes(blob))
    except ContainerError:
        return
    # Only an undamaged file may parse, and then it must be the original.
    assert bytes(blob) == GOOD and sections == [b"a" * 50, b"b" * 70]


def test_many_random_flips_all_detected():
    rng = random.Random(0)
    for _ in range(2000):
        blob = bytearray(GOOD)
        i = rng.randrange(len(blob))
        blob[i] ^= 1 << rng.randrange(8)
        with pytest.raises(ContainerError):
            unpack(bytes(blob))
