"""ops.rans_decode: CompressAI's rANS strings decoded with bounds checks."""
import numpy as np
import pytest
from compressai import ans
from compressai._CXX import pmf_to_quantized_cdf

from learned_codec import ops


def _tables(rng, n_cdfs=5, max_len=40):
    """n_cdfs quantized CDF rows (CompressAI's own quantizer), padded to one width,
    each with the escape symbol CompressAI appends (its last pmf entry)."""
    rows, lengths = [], []
    for _ in range(n_cdfs):
        m = int(rng.integers(1, max_len))
        pmf = rng.random(m) + 0.01
        pmf = list(pmf / pmf.sum() * 0.999) + [0.001]  # last: the tail / escape mass
        cdf = pmf_to_quantized_cdf(pmf, 16)
        rows.append(cdf)
        lengths.append(len(cdf))
    width = max(lengths)
    table = np.zeros((n_cdfs, width), np.int32)
    for r, cdf in zip(table, rows):
        r[:len(cdf)] = cdf
    offsets = rng.integers(-20, 5, n_cdfs).astype(np.int32)
    return table, np.array(lengths, np.int32), offsets


def _encode(symbols, indexes, table, lengths, offsets):
    return ans.RansEncoder().encode_with_indexes(
        symbols.tolist(), indexes.tolist(), table.tolist(), lengths.tolist(), offsets.tolist())


def _compressai_decode(string, indexes, table, lengths, offsets):
    return np.array(ans.RansDecoder().decode_with_indexes(
        string, indexes.tolist(), table.tolist(), lengths.tolist(), offsets.tolist()), np.int32)


@pytest.mark.parametrize("seed", range(6))
def test_decodes_what_compressai_encodes(seed):
    rng = np.random.default_rng(seed)
    table, lengths, offsets = _tables(rng)
    n = int(rng.integers(1, 3000))
    indexes = rng.integers(0, len(table), n).astype(np.int32)
    # In-range values and escapes on both sides (CompressAI's bypass coding), some large.
    lo = offsets[indexes]
    hi = lo + lengths[indexes] - 2
    symbols = rng.integers(lo, hi, endpoint=False)
    escapes = rng.random(n) < 0.05
    # CompressAI's encoder loops forever on raw escape values >= 2^28 (it shifts a
    # uint32 by 32 bits), so the largest escapes stay below that.
    big = rng.choice([1, 7, 300, 70000, 2**26], n) * rng.choice([-1, 1], n)
    symbols = np.where(escapes, np.where(big < 0, lo + big, hi + big), symbols).astype(np.int32)
    string = _encode(symbols, indexes, table, lengths, offsets)
    ours = ops.rans_decode(string, indexes, table, lengths, offsets)
    np.testing.assert_array_equal(ours, symbols)
    np.testing.assert_array_equal(ours, _compressai_decode(string, indexes, table, lengths, offsets))


def test_damaged_strings_give_errors_never_crashes():
    rng = np.random.default_rng(0)
    table, lengths, offsets = _tables(rng)
    indexes = rng.integers(0, len(table), 500).astype(np.int32)
    symbols = (offsets[indexes] + rng.integers(0, 2, 500)).astype(np.int32)
    string = _encode(symbols, indexes, table, lengths, offsets)
    errors = 0
    for case in range(3000):
        kind = case % 4
        s = bytearray(string)
        if kind == 0:    # truncation (keeps whole words or not)
            s = s[:int(rng.integers(0, len(s)))]
        elif kind == 1:  # bit flips
            for _ in range(int(rng.integers(1, 8))):
                i = int(rng.integers(0, len(s)))
                s[i] ^= 1 << int(rng.integers(0, 8))
        elif kind == 2:  # random bytes of a random length
            s = bytearray(rng.integers(0, 256, int(rng.integers(0, 3 * len(string))), dtype=np.uint8))
        else:            # all escapes: 0xFF words make every bypass chunk 15
            s = bytearray(b"\xff" * len(s))
        try:
            out = ops.rans_decode(bytes(s), indexes, table, lengths, offsets)
            assert out.shape == symbols.shape
        except ops.RansDecodeError:
            errors += 1
    # Most damage is detected: overruns, leftover words, impossible escapes.
    assert errors > 2000


def test_crafted_escape_length_is_refused():
    # One CDF with max_value 0: every symbol is an escape, and 0xFF data makes its
    # length chunk 15 again and again (CompressAI would read far past the string).
    table = np.array([[0, 65536]], np.int32)
    with pytest.raises(ops.RansDecodeError, match="escape"):
        ops.rans_decode(b"\xff" * 64, np.zeros(10, np.int32), table, [2], [0])


def test_bad_tables_and_indexes():
    rng = np.random.default_rng(1)
    table, lengths, offsets = _tables(rng)
    indexes = np.zeros(10, np.int32)
    string = _encode(offsets[indexes].astype(np.int32), indexes, table, lengths, offsets)
    with pytest.raises(ops.RansDecodeError, match="index"):
        ops.rans_decode(string, indexes + len(table), table, lengths, offsets)
    broken = table.copy()
    broken[0, 1] = broken[0, 0]  # a zero frequency
    with pytest.raises(ops.RansDecodeError, match="CDF"):
        ops.rans_decode(string, indexes, broken, lengths, offsets)
    with pytest.raises(ops.RansDecodeError, match="8 bytes"):
        ops.rans_decode(b"", indexes, table, lengths, offsets)
    with pytest.raises(ValueError, match="offsets"):
        ops.rans_decode(string, indexes, table, lengths, offsets[:-1])
