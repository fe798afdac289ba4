"""`palette`: a model of emulator frames, coded losslessly by context modelling.

Atari frames are pixel art: a 210 x 160 screen of at most a few dozen palette
colours, mostly a static maze. The data set resizes them to 200 x 160 with Pillow's
Lanczos filter, which mixes colours across rows but loses nothing a decoder cannot
recompute (learned_codec.palette.resample). So this model codes the screen, not the
resized frame:

    frame --invert_resize--> screen of palette indices --context model + rANS--> bytes
    bytes --> screen --resize_height (bit-exact Pillow)--> frame

What it learns from training frames (learned_codec.palette.fit):
  - palette      P x 3 colours (the data set's emulator palette);
  - backgrounds  K screens (k-modes over training screens: per maze, the pixel
                 value seen most often), the reference of key frames;
  - intra tables a context model of a screen given its background (neighbours W,
                 N, NW, NE, ... and the background pixel);
  - inter tables the same given the background and the previous decoded screen
                 (the video mode), counted on frames 10 apart (the image set);
  - next tables  the same, counted on consecutive video frames (20 fps).
Tables are counted frequencies (ops.ContextModelTables): integers only, so every
machine decodes the same screen. It is an nn.Module only to hold its tensors
(buffers) for the checkpoint machinery; it has no parameters to train by gradient.
"""

import numpy as np
import torch
from torch import nn

from learned_codec.models.registry import register
from learned_codec.ops import ContextModelTables

OUTSIDE_REF = 30  # reference value beyond the screen's edge (palette indices are < 30)
# Reference planes the context tables may read, computed alike by encoder and decoder
# from the frame's background and the previous decoded screen: the co-located pixel,
# or the one below (S), right (E), left (W) or above (N) it.
REFERENCE_PLANES = {
    "bg": ("bg", 0, 0), "bgS": ("bg", 1, 0), "bgE": ("bg", 0, 1),
    "prev": ("prev", 0, 0), "prevS": ("prev", 1, 0), "prevE": ("prev", 0, 1),
    "prevW": ("prev", 0, -1), "prevN": ("prev", -1, 0),
}


def shifted(plane, dy, dx):
    """out[..., y, x] = plane[..., y + dy, x + dx], OUTSIDE_REF beyond the edge."""
    out = np.full_like(plane, OUTSIDE_REF)
    h, w = plane.shape[-2:]
    out[..., max(0, -dy):h - max(0, dy), max(0, -dx):w - max(0, dx)] = \
        plane[..., max(0, dy):h - max(0, -dy), max(0, dx):w - max(0, -dx)]
    return out


def assign_backgrounds(screens, backgrounds):
    """Index of the background each N x H x W screen differs from in the fewest pixels."""
    return np.stack([(screens != b).sum((-2, -1)) for b in backgrounds]).argmin(0)


def reference_planes(names, background, previous=None):
    """uint8 (N x) R x H x W planes named by `names` (REFERENCE_PLANES) from background
    and previous screens of shape (N x) H x W."""
    sources = {"bg": background, "prev": previous}
    planes = []
    for name in names:
        src, dy, dx = REFERENCE_PLANES[name]
        if sources[src] is None:
            raise ValueError(f"reference plane {name!r} needs a previous screen")
        planes.append(shifted(sources[src], dy, dx))
    return np.stack(planes, axis=-3)


DEFAULTS = {
    "frame_size": [200, 160],   # height, width of the frames it codes
    "screen_size": [210, 160],  # height, width of the emulator screens behind them
    "colours": 18,
    "backgrounds": 4,
    # Back-off levels, most specific first, each a subset of the one before (chosen on
    # the data set: benchmarks/results/palette/README.md).
    "intra_levels": [["W", "N", "NW", "NE", "WW", "NN", "ref0", "ref1"], ["W", "N", "NW", "NE", "WW", "NN", "ref0"],
                     ["W", "N", "NW", "NE", "ref0"], ["W", "N", "ref0"], ["W", "N"], []],
    "inter_levels": [["W", "N", "NW", "NE", "WW", "NN", "ref0", "ref1"], ["W", "N", "NW", "NE", "ref0", "ref1"],
                     ["W", "N", "NW", "NE", "ref1"], ["W", "N", "ref1"], ["W", "N"], []],
    "intra_refs": ["bg", "bgS"],  # what ref0, ref1, ... of the levels are (REFERENCE_PLANES)
    "inter_refs": ["bg", "prev"],
    "intra_rows": [1, 1, 1, 1, 1, 1],   # rows per level: set by training (the tables' sizes)
    "inter_rows": [1, 1, 1, 1, 1, 1],
    "next_rows": [1, 1, 1, 1, 1, 1],  # the "next" tables: inter's contexts, consecutive frames
}


@register("palette", DEFAULTS, "emulator-frame model: learned palette + backgrounds, exact Lanczos "
                               "inversion, context-model rANS (lossless); trained by counting")
class PaletteModel(nn.Module):
    entropy_coded = False
    lossless_model = True

    def __init__(self, frame_size, screen_size, colours, backgrounds, intra_levels, inter_levels,
                 intra_refs, inter_refs, intra_rows, inter_rows, next_rows):
        super().__init__()
        for refs in (intra_refs, inter_refs):
            unknown = [r for r in refs if r not in REFERENCE_PLANES]
            if unknown:
                raise ValueError(f"unknown reference plane(s) {unknown}; known: {sorted(REFERENCE_PLANES)}")
        if any(r.startswith("prev") for r in intra_refs):
            raise ValueError("key-frame (intra) tables cannot read the previous screen")
        if len(intra_rows) != len(intra_levels) or len(inter_rows) != len(inter_levels) \
                or len(next_rows) != len(inter_levels):
            raise ValueError("intra_rows / inter_rows / next_rows need one count per level")
        if not 1 <= colours <= 30:
            raise ValueError(f"colours must be 1..30, got {colours}")
        if not 1 <= backgrounds <= 32:  # a frame names its background in five bits
            raise ValueError(f"backgrounds must be 1..32, got {backgrounds}")
        if int(frame_size[1]) != int(screen_size[1]):
            raise ValueError("frames and screens must have the same width (only heights are resized)")
        self.frame_size = tuple(int(v) for v in frame_size)
        self.screen_size = tuple(int(v) for v in screen_size)
        inter = [tuple(lv) for lv in inter_levels]
        self.levels = {"intra": [tuple(lv) for lv in intra_levels], "inter": inter, "next": inter}
        self.refs = {"intra": list(intra_refs), "inter": list(inter_refs), "next": list(inter_refs)}
        sh, sw = self.screen_size
        self.register_buffer("palette", torch.zeros(colours, 3, dtype=torch.uint8))
        self.register_buffer("backgrounds", torch.zeros(backgrounds, sh, sw, dtype=torch.uint8))
        for kind, rows in (("intra", intra_rows), ("inter", inter_rows), ("next", next_rows)):
            total = int(sum(rows))
            self.register_buffer(f"{kind}_keys", torch.zeros(total, dtype=torch.int64))
            self.register_buffer(f"{kind}_level_rows", torch.tensor([int(r) for r in rows], dtype=torch.int64))
            # 16-bit frequencies stored bit-cast as int16 (safetensors has no uint16).
            self.register_buffer(f"{kind}_freqs", torch.zeros(total, colours, dtype=torch.int16))
        self._tables = {}

    # ---- tables ---------------------------------------------------------------

    def tables(self, kind):
        """ops.ContextModelTables of "intra", "inter" or "next" (built once from the buffers)."""
        if kind not in self._tables:
            rows = getattr(self, f"{kind}_level_rows").numpy()
            keys = getattr(self, f"{kind}_keys").numpy()
            bounds = np.cumsum(np.concatenate([[0], rows]))
            freqs = getattr(self, f"{kind}_freqs").numpy().view(np.uint16)
            self._tables[kind] = ContextModelTables(
                self.levels[kind], [keys[a:b] for a, b in zip(bounds[:-1], bounds[1:])], freqs)
        return self._tables[kind]

    def set_tables(self, kind, tables):
        """Store fitted tables (their row counts must be those of the config)."""
        rows = np.diff(tables.level_start)
        getattr(self, f"{kind}_keys").copy_(torch.from_numpy(tables.keys))
        getattr(self, f"{kind}_level_rows").copy_(torch.from_numpy(rows))
        getattr(self, f"{kind}_freqs").copy_(torch.from_numpy(tables.freqs.view(np.int16)))
        self._tables.pop(kind, None)

    def _load_from_state_dict(self, *args, **kwargs):
        self._tables = {}
        super()._load_from_state_dict(*args, **kwargs)

    def references(self, kind, background, previous=None):
        """The reference planes the `kind` tables read, for (N x) H x W screens."""
        return reference_planes(self.refs[kind], background, previous)

    def palette_array(self):
        return self.palette.numpy()

    def background_array(self):
        return self.backgrounds.numpy()
