"""Adaptive context-mixing coding of palette screens (csrc/cpu/screen_coder.cpp).

    state = ScreenCoderState.cold()                     # or a fitted one (the generic model)
    streams = screen_encode(screens, ncol, video=False, state=state)   # one bytes per screen
    screen_decode(streams, h, w, ncol, video=False, state=state)       # -> the same screens

screens: uint8 N x H x W indices < ncol (<= 255), in the frame's own palette. Image
mode codes every screen alone; video mode codes each screen after the first from the
previous one and a background kept from the stream, with one adaptive state across
the N screens (a group of pictures: decoding starts at its first screen).
"""
import numpy as np

from learned_codec import _C
from learned_codec.ops.rans import RansDecodeError

SCREEN_MAX_COLOURS = 255
TABLE1_SIZE = int(_C.screen_table1_size)
MIX_SHAPE = tuple(int(v) for v in _C.screen_mix_shape)
_ERRORS = {
    -21: "sizes, colour count or a stream length out of range",
    -22: "a palette index beyond the palette (damaged data)",
    -23: "output buffer too small",
}
_OVERRUN = -23


class ScreenCoderState:
    """Starting state of the coder's colour-blind part: the structural counters
    (uint32, TABLE1_SIZE: 22-bit probability << 10 | count) and the mixer weights
    (int32, MIX_SHAPE). cold() knows nothing; fitting (screen_encode(..., fit=True))
    returns the state after coding screens, the generic model's starting point."""

    def __init__(self, table1, mix):
        self.table1 = np.ascontiguousarray(table1, dtype=np.uint32)
        self.mix = np.ascontiguousarray(mix, dtype=np.int32)
        if self.table1.shape != (TABLE1_SIZE,) or self.mix.shape != MIX_SHAPE:
            raise ValueError(f"screen coder state must be {TABLE1_SIZE} counters and {MIX_SHAPE} weights, "
                             f"got {self.table1.shape} and {self.mix.shape}")

    @classmethod
    def cold(cls):
        mix = np.full(MIX_SHAPE, int(0.3 * 65536), dtype=np.int32)
        mix[:, -1] = 0  # the bias input starts unused
        return cls(np.full(TABLE1_SIZE, 1 << 31, dtype=np.uint32), mix)

    def capped(self, count):
        """The same probabilities with every count limited to `count`: a fitted state
        that still adapts quickly to the screens at hand."""
        t = self.table1.copy()
        n = np.minimum(t & 1023, count)
        return ScreenCoderState((t & ~np.uint32(1023)) | n, self.mix)


def _screens(screens, ncol):
    s = np.asarray(screens)
    if s.dtype != np.uint8 or s.ndim != 3 or 0 in s.shape[1:]:
        raise ValueError(f"screens must be uint8 N x H x W, got {s.dtype} {s.shape}")
    if not 1 <= int(ncol) <= SCREEN_MAX_COLOURS:
        raise ValueError(f"ncol must be 1..{SCREEN_MAX_COLOURS}, got {ncol}")
    if s.size and int(s.max()) >= ncol:
        raise ValueError(f"screen index {int(s.max())} >= ncol {ncol}")
    return np.ascontiguousarray(s)


def screen_encode(screens, ncol, video=False, state=None, fit=False):
    """-> list of N bytes (one stream per screen); with fit=True also the coder's
    final ScreenCoderState (fitting the generic model)."""
    s = _screens(screens, ncol)
    state = state or ScreenCoderState.cold()
    n, h, w = s.shape
    sizes = np.zeros(max(n, 1), dtype=np.int64)
    fit1 = np.empty(TABLE1_SIZE, np.uint32) if fit else None
    fitm = np.empty(MIX_SHAPE, np.int32) if fit else None
    # About 1 byte per pixel first (screens cost ~0.01-0.1); the worst case (every
    # decision at probability 1/4096: 16 decisions of 12 bits) only if that overflows.
    for cap in (n * h * w + 64, n * (h * w * 24 + 64)):
        out = np.empty(max(cap, 1), dtype=np.uint8)
        total = _C.screen_encode(s.ctypes.data, n, h, w, int(ncol), bool(video), state.table1.ctypes.data,
                                 state.mix.ctypes.data, out.ctypes.data, cap, sizes.ctypes.data,
                                 fit1.ctypes.data if fit else 0, fitm.ctypes.data if fit else 0)
        if total != _OVERRUN:
            break
    if total < 0:
        raise ValueError(f"screen_encode: {_ERRORS.get(total, total)}")
    bounds = np.concatenate([[0], np.cumsum(sizes[:n])])
    streams = [out[a:b].tobytes() for a, b in zip(bounds[:-1], bounds[1:])]
    return (streams, ScreenCoderState(fit1, fitm)) if fit else streams


def screen_decode(streams, height, width, ncol, video=False, state=None):
    """Inverse of screen_encode -> uint8 N x height x width. Data damaged so that an
    index leaves the palette raises RansDecodeError (other damage decodes to some
    screen: the container's CRC is what detects it)."""
    state = state or ScreenCoderState.cold()
    h, w, n = int(height), int(width), len(streams)
    if h < 1 or w < 1 or not 1 <= int(ncol) <= SCREEN_MAX_COLOURS:
        raise ValueError(f"bad screen size {h}x{w} or colour count {ncol}")
    sizes = np.array([len(b) for b in streams] or [0], dtype=np.int64)
    data = np.frombuffer(b"".join(streams) or b"\0", dtype=np.uint8)
    out = np.zeros((max(n, 1), h, w), dtype=np.uint8)
    status = _C.screen_decode(data.ctypes.data, sizes.ctypes.data, n, h, w, int(ncol), bool(video),
                              state.table1.ctypes.data, state.mix.ctypes.data, out.ctypes.data)
    if status < 0:
        raise RansDecodeError(f"screen_decode: {_ERRORS.get(status, status)}")
    return out[:n]
