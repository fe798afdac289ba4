"""Context-model rANS coding of palette-index images (the palette model's coder)."""
from learned_codec import _C
from learned_codec.ops.rans import RansDecodeError

CONTEXT_COMPONENTS = ("W", "N", "NW", "NE", "WW", "NN")  # then "ref0", "ref1", ...


CONTEXT_MAX_SYMBOLS = 31   # symbols and reference values are < 31 (31 marks "outside")


CONTEXT_MAX_COMPONENTS = 8


CONTEXT_MAX_REFS = 8


_CONTEXT_ERRORS = {
    -11: "the context model's tables are malformed",
    -12: "a symbol or reference value is out of range",
    -13: "the data ends before the last pixel",
    -14: "the final rANS state is wrong (damaged data)",
    -15: "bytes are left over after the last pixel",
}


class ContextModelTables:
    """The integer tables of a context model (see csrc/cpu/context_coder.cpp).

    levels: list of back-off levels, most specific first, each a tuple of component
    names from CONTEXT_COMPONENTS or "refR" (reference plane R); the last level is
    () (the catch-all). keys: one sorted int64 array per level (digits in base 32,
    components in the level's order). freqs: uint16 rows x nsym, one row per key of
    every level in order, each summing to 2^16 with every entry >= 1.
    """

    def __init__(self, levels, keys, freqs):
        import numpy as np

        self.levels = [tuple(level) for level in levels]
        names = {n: i for i, n in enumerate(CONTEXT_COMPONENTS)}
        names.update({f"ref{r}": 6 + r for r in range(CONTEXT_MAX_REFS)})
        if not self.levels or self.levels[-1] != ():
            raise ValueError("the last context level must be () (the catch-all)")
        width = max(1, max(len(level) for level in self.levels))
        if width > CONTEXT_MAX_COMPONENTS:
            raise ValueError(f"a context level has more than {CONTEXT_MAX_COMPONENTS} components")
        comps = np.full((len(self.levels), width), -1, dtype=np.int32)
        for i, level in enumerate(self.levels):
            for j, name in enumerate(level):
                if name not in names:
                    raise ValueError(f"unknown context component {name!r}")
                comps[i, j] = names[name]
        self.n_refs = max([int(c) - 5 for c in comps.ravel() if c >= 6] + [0])
        if len(keys) != len(self.levels):
            raise ValueError(f"{len(self.levels)} levels but {len(keys)} key arrays")
        self.comps = comps
        self.keys = np.ascontiguousarray(np.concatenate([np.asarray(k, np.int64) for k in keys]))
        self.level_start = np.ascontiguousarray(
            np.cumsum([0] + [len(k) for k in keys]), dtype=np.int64)
        self.freqs = np.ascontiguousarray(freqs, dtype=np.uint16)
        if self.freqs.ndim != 2 or self.freqs.shape[0] != self.keys.shape[0]:
            raise ValueError(f"freqs must be {self.keys.shape[0]} x nsym, got {self.freqs.shape}")
        self.nsym = int(self.freqs.shape[1])

    def _refs(self, refs, h, w):
        import numpy as np

        refs = np.zeros((0, h, w), np.uint8) if refs is None else np.asarray(refs)
        if refs.dtype != np.uint8 or refs.ndim != 3 or refs.shape[1:] != (h, w):
            raise ValueError(f"refs must be uint8 R x {h} x {w}, got {refs.dtype} {refs.shape}")
        if refs.shape[0] < self.n_refs:
            raise ValueError(f"the model reads {self.n_refs} reference planes, got {refs.shape[0]}")
        return np.ascontiguousarray(refs)

    def _args(self):
        return (self.comps.ctypes.data, self.comps.shape[0], self.comps.shape[1],
                self.keys.ctypes.data, self.level_start.ctypes.data, self.freqs.ctypes.data, self.nsym)


def context_encode(symbols, tables, refs=None):
    """Code an H x W uint8 image of symbols < tables.nsym with a context model.

    refs: uint8 R x H x W reference planes the model's "refR" components read
    (values < 31), the same ones the decoder will have. Returns bytes. CPU only.
    """
    import numpy as np

    img = np.ascontiguousarray(symbols)
    if img.dtype != np.uint8 or img.ndim != 2:
        raise ValueError(f"symbols must be uint8 H x W, got {img.dtype} {img.shape}")
    h, w = img.shape
    r = tables._refs(refs, h, w)
    out = np.empty(2 * h * w + 4, dtype=np.uint8)
    n = _C.context_encode(img.ctypes.data, h, w, r.ctypes.data, r.shape[0], *tables._args(),
                          out.ctypes.data, out.shape[0])
    if n < 0:
        raise ValueError(f"context_encode: {_CONTEXT_ERRORS.get(n, n)}")
    return out[:n].tobytes()


def context_decode(data, height, width, tables, refs=None):
    """Inverse of context_encode -> uint8 height x width. Damaged data raises
    RansDecodeError (every byte read is bounds-checked; the final state is checked)."""
    import numpy as np

    buf = np.frombuffer(bytes(data), dtype=np.uint8)
    h, w = int(height), int(width)
    if h < 1 or w < 1:
        raise ValueError(f"bad image size {h}x{w}")
    r = tables._refs(refs, h, w)
    out = np.zeros((h, w), dtype=np.uint8)
    status = _C.context_decode(buf.ctypes.data, buf.shape[0], h, w, r.ctypes.data, r.shape[0],
                               *tables._args(), out.ctypes.data)
    if status == -11 or status == -12:
        raise ValueError(f"context_decode: {_CONTEXT_ERRORS[status]}")
    if status != 0:
        raise RansDecodeError(f"context stream does not decode: {_CONTEXT_ERRORS.get(status, status)}")
    return out
