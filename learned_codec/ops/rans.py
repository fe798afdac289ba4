"""Bounds-checked decoding of CompressAI rANS strings."""
from learned_codec import _C


class RansDecodeError(ValueError):
    """A rANS string that does not decode (damaged, truncated or not made for these tables)."""


_RANS_ERRORS = {
    -1: "the string is shorter than 8 bytes or not whole 32-bit words",
    -2: "a CDF table is not 0 .. 65536 and strictly increasing",
    -3: "a CDF index is out of range",
    -4: "the data ends before the last symbol",
    -5: "an escape (bypass) value is longer than 32 bits",
    -6: "bytes are left over after the last symbol",
}


def rans_decode(string, indexes, cdfs, cdf_lengths, offsets):
    """Decode one rANS string of CompressAI's entropy coder, bounds-checked.

    string: bytes. indexes: N ints (the CDF row of each symbol). cdfs: n_cdfs x L
    int32 CDF rows (row c valid up to cdf_lengths[c]), offsets: n_cdfs ints.
    Returns int32 numpy array of N values, equal to compressai.ans.RansDecoder's
    decode_with_indexes output for any string its encoder made. A string it did not
    make raises RansDecodeError instead of reading past the end (CompressAI's
    decoder does not check) or looping on a crafted escape length. CPU only.
    """
    import numpy as np

    data = np.frombuffer(bytes(string), dtype=np.uint8)
    idx = np.ascontiguousarray(indexes, dtype=np.int32).reshape(-1)
    table = np.ascontiguousarray(cdfs, dtype=np.int32)
    lengths = np.ascontiguousarray(cdf_lengths, dtype=np.int32).reshape(-1)
    offs = np.ascontiguousarray(offsets, dtype=np.int32).reshape(-1)
    if table.ndim != 2 or table.shape[0] < 1:
        raise ValueError(f"cdfs must be n_cdfs x L, got shape {table.shape}")
    if lengths.shape[0] != table.shape[0] or offs.shape[0] != table.shape[0]:
        raise ValueError(f"cdf_lengths and offsets need {table.shape[0]} entries, got "
                         f"{lengths.shape[0]} and {offs.shape[0]}")
    out = np.empty(idx.shape[0], dtype=np.int32)
    if data.shape[0] == 0:
        raise RansDecodeError(_RANS_ERRORS[-1])
    status = _C.rans_decode(data.ctypes.data, data.shape[0], idx.ctypes.data, idx.shape[0],
                            table.ctypes.data, table.shape[0], table.shape[1],
                            lengths.ctypes.data, offs.ctypes.data, out.ctypes.data)
    if status != 0:
        raise RansDecodeError(f"rANS string does not decode: {_RANS_ERRORS.get(status, status)}")
    return out
