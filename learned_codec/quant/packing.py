"""Lossless packing of uint8 symbol streams: raw, zlib or LZMA, whichever is shortest
(one flag byte says which), so a coded stream never exceeds raw + 1 byte."""
import lzma
import zlib

_RAW, _ZLIB, _LZMA = 0, 1, 2  # the flag byte
from learned_codec.container.format import ContainerError


def _lzma_filters(length):
    """LZMA2 at preset 9 with a dictionary just large enough for `length` bytes.

    Preset 9's default 64 MiB dictionary gives the same bytes for a frame's few KB of
    symbols but costs ~45 ms per call to allocate (it was 2/3 of conv5's encode time);
    a dictionary >= the data is all a match can use. The decoder derives the same size
    from the expected length, so it never allocates from a size the file declares."""
    dict_size = max(4096, 1 << max(0, int(length) - 1).bit_length())
    return [{"id": lzma.FILTER_LZMA2, "preset": 9, "dict_size": min(dict_size, 1 << 26)}]


def pack_symbols(raw):
    """Shortest of raw / zlib / LZMA, behind a one-byte flag."""
    candidates = [(_RAW, raw), (_ZLIB, zlib.compress(raw, 9)),
                  (_LZMA, lzma.compress(raw, format=lzma.FORMAT_RAW, filters=_lzma_filters(len(raw))))]
    flag, best = min(candidates, key=lambda c: (len(c[1]), c[0]))
    return bytes([flag]) + best


def unpack_symbols(data, expected_len):
    """Inverse of pack_symbols; output length is checked, never trusted from the data."""
    if len(data) < 1:
        raise ContainerError("empty code payload")
    flag, body = data[0], data[1:]
    try:
        if flag == _RAW:
            raw = body
        elif flag == _ZLIB:
            raw = zlib.decompressobj().decompress(body, expected_len + 1)
        elif flag == _LZMA:
            d = lzma.LZMADecompressor(format=lzma.FORMAT_RAW, filters=_lzma_filters(expected_len))
            raw = d.decompress(body, max_length=expected_len + 1)
        else:
            raise ContainerError(f"unknown code payload coding {flag}")
    except (zlib.error, lzma.LZMAError) as e:
        raise ContainerError(f"code payload does not decompress: {e}") from None
    if len(raw) != expected_len:
        raise ContainerError(f"code payload has {len(raw)} bytes, expected {expected_len}")
    return bytes(raw)
