"""Learning the context model of palette-index images: counted, smoothed, quantized.

A context model (ops.ContextModelTables, coded by csrc/cpu/context_coder.cpp)
gives every pixel a probability row chosen by its context: causal neighbours
(W, N, NW, NE, WW, NN) and co-located reference pixels ("ref0", "ref1", ...: a
learned background, the previous decoded frame). Rows are learned by counting:
the maximum-likelihood estimate with additive smoothing `alpha`, kept only for
contexts seen at least `min_count` times (others back off to the next, coarser
level; or, hierarchically, counts plus pseudo-counts spread as the coarser
level's row), quantized to 16-bit frequencies that sum to 2^16 with none zero, so any
image stays codable and the decoder needs no floating point.
"""
import numpy as np

from learned_codec.ops import CONTEXT_COMPONENTS, ContextModelTables

BASE = 32      # key digit base (csrc/cpu/context_coder.cpp)
OUTSIDE = 31   # neighbour value outside the image
TOTAL = 1 << 16


def component_planes(symbols, refs):
    """N x H x W uint8 symbols (+ N x R x H x W refs) -> {name: int64 N x H x W} of every
    context component, with OUTSIDE beyond the image, as the C++ coder computes them."""
    n, h, w = symbols.shape
    pad = np.full((n, h + 2, w + 4), OUTSIDE, dtype=np.int64)
    pad[:, 2:, 2:-2] = symbols
    planes = {
        "W": pad[:, 2:, 1:-3], "N": pad[:, 1:-1, 2:-2], "NW": pad[:, 1:-1, 1:-3],
        "NE": pad[:, 1:-1, 3:-1], "WW": pad[:, 2:, :-4], "NN": pad[:, :-2, 2:-2],
    }
    assert tuple(planes) == CONTEXT_COMPONENTS
    if refs is not None:
        for r in range(refs.shape[1]):
            planes[f"ref{r}"] = refs[:, r].astype(np.int64)
    return planes


def context_keys(planes, level, shape):
    key = np.zeros(shape, dtype=np.int64)
    for name in level:
        key = key * BASE + planes[name]
    return key


class ContextCounter:
    """Accumulates (context, symbol) counts of every level over batches of images."""

    def __init__(self, levels, nsym):
        self.levels = [tuple(level) for level in levels]
        if not self.levels or self.levels[-1] != ():
            raise ValueError("the last level must be () (the catch-all)")
        self.nsym = int(nsym)
        self.counts = [(np.zeros(0, np.int64), np.zeros(0, np.int64)) for _ in self.levels]

    def add(self, symbols, refs=None):
        """symbols: uint8 N x H x W (< nsym); refs: uint8 N x R x H x W or None."""
        symbols = np.asarray(symbols)
        planes = component_planes(symbols, refs)
        sym = symbols.astype(np.int64).ravel()
        for i, level in enumerate(self.levels):
            codes = context_keys(planes, level, symbols.shape).ravel() * BASE + sym
            u, c = np.unique(codes, return_counts=True)
            old_u, old_c = self.counts[i]
            if old_u.size:
                u, inv = np.unique(np.concatenate([old_u, u]), return_inverse=True)
                c = np.bincount(inv, weights=np.concatenate([old_c, c])).astype(np.int64)
            self.counts[i] = (u, c)

    def nested(self):
        """True when every level's components are a subset of the level before it."""
        return all(set(b) <= set(a) for a, b in zip(self.levels, self.levels[1:]))

    def tables(self, min_count=8, alpha=0.05, beta=None):
        """-> ContextModelTables: one row per context seen >= min_count times (every
        context on the catch-all level).

        beta=None: each row is its own counts smoothed by `alpha`. beta > 0 (nested
        levels only): each row is its counts plus `beta` pseudo-counts spread as the
        row of its parent context on the next level (hierarchical smoothing: a context
        seen a few times stays close to the coarser one), so few-count rows are safe."""
        if beta is not None and not self.nested():
            raise ValueError("beta smoothing needs nested levels (each a subset of the one before)")
        keys, rows = [None] * len(self.levels), [None] * len(self.levels)
        parent = None  # (all contexts, their probabilities) of the next level
        for i in reversed(range(len(self.levels))):
            u, c = self.counts[i]
            ctx, sym = u // BASE, u % BASE
            uc, inv = np.unique(ctx, return_inverse=True)
            counts = np.zeros((len(uc), self.nsym), dtype=np.float64)
            np.add.at(counts, (inv, sym), c)
            last = i == len(self.levels) - 1
            if last:
                uc, counts = np.zeros(1, np.int64), counts.sum(0, keepdims=True)
            if last or beta is None:
                p = (counts + alpha) / (counts + alpha).sum(1, keepdims=True)
            else:
                pu, pp = parent
                pos = np.searchsorted(pu, parent_keys(uc, self.levels[i], self.levels[i + 1]))
                p = (counts + beta * pp[pos]) / (counts.sum(1, keepdims=True) + beta)
            parent = (uc, p)
            keep = slice(None) if last else counts.sum(1) >= min_count
            keys[i], rows[i] = uc[keep], quantize_probabilities(p[keep])
        return ContextModelTables(self.levels, keys, np.concatenate(rows))


def parent_keys(keys, level, parent_level):
    """Keys of `level` -> the keys of the same pixels' contexts on `parent_level`
    (whose components are a subset of level's)."""
    digits = {}
    k = np.asarray(keys, dtype=np.int64)
    for name in reversed(level):
        digits[name] = k % BASE
        k = k // BASE
    out = np.zeros(len(keys), dtype=np.int64)
    for name in parent_level:
        out = out * BASE + digits[name]
    return out


def quantize_rows(counts, alpha):
    """float R x S counts -> uint16 R x S frequencies, each >= 1, rows summing to 2^16."""
    counts = np.asarray(counts, dtype=np.float64)
    return quantize_probabilities((counts + alpha) / (counts + alpha).sum(1, keepdims=True))


def quantize_probabilities(p):
    """float R x S probabilities -> uint16 R x S frequencies, each >= 1, rows summing to 2^16."""
    s = p.shape[1]
    f = 1 + np.floor(p * (TOTAL - s)).astype(np.int64)
    f[np.arange(len(f)), f.argmax(1)] += TOTAL - f.sum(1)
    return f.astype(np.uint16)


def code_length_bits(tables, symbols, refs=None, per_pixel=False):
    """Ideal code length (bits) of each image under `tables`: N floats (per_pixel: the
    N x H x W bits of every pixel). What the rANS coder spends, minus its 4-byte state
    and a fraction of a byte of rounding."""
    symbols = np.asarray(symbols)
    planes = component_planes(symbols, refs)
    sym = symbols.astype(np.int64)
    bits = np.zeros(symbols.shape)
    done = np.zeros(symbols.shape, dtype=bool)
    for level, lo, hi in zip(tables.levels, tables.level_start[:-1], tables.level_start[1:]):
        keys = tables.keys[lo:hi]
        k = context_keys(planes, level, symbols.shape)
        pos = np.minimum(np.searchsorted(keys, k), len(keys) - 1)
        hit = (keys[pos] == k) & ~done
        f = tables.freqs[lo + pos, sym].astype(np.float64)
        bits[hit] = -np.log2(f[hit] / TOTAL)
        done |= hit
    return bits if per_pixel else bits.reshape(len(symbols), -1).sum(1)
