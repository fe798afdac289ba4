"""`palette`: a model of emulator frames, coded losslessly by context modelling.

Atari frames are pixel art: a 210 x 160 screen of at most a few dozen palette
colours, mostly a static maze. The data set resizes them to 200 x 160 with Pillow's
Lanczos filter, which mixes colours across rows but loses nothing a decoder cannot
recompute (learned_codec.resample). So this model codes the screen, not the
resized frame:

    frame --invert_resize--> screen of palette indices --context model + rANS--> bytes
    bytes --> screen --resize_height (bit-exact Pillow)--> frame

What it learns from training frames (learned_codec.train_palette):
  - palette      P x 3 colours (the data set's emulator palette);
  - backgrounds  K screens (k-modes over training screens: per maze, the pixel
                 value seen most often), the reference of key frames;
  - intra tables a context model of a screen given its background (neighbours W,
                 N, NW, NE, ... and the background pixel);
  - inter tables the same given the background and the previous decoded screen
                 (the video mode).
Tables are counted frequencies (ops.ContextModelTables): integers only, so every
machine decodes the same screen. It is an nn.Module only to hold its tensors
(buffers) for the checkpoint machinery; it has no parameters to train by gradient.
"""
import json

import numpy as np
import torch
from torch import nn

from ..ops import ContextModelTables
from .registry import register

DEFAULTS = {
    "frame_size": [200, 160],   # height, width of the frames it codes
    "screen_size": [210, 160],  # height, width of the emulator screens behind them
    "colours": 18,
    "backgrounds": 4,
    "intra_levels": [["W", "N", "NW", "NE", "ref0"], ["W", "N", "ref0"], ["W", "N"], []],
    "inter_levels": [["W", "N", "NW", "NE", "ref0", "ref1"], ["W", "N", "NW", "NE", "ref1"],
                     ["W", "N", "ref1"], ["W", "N"], []],
    "intra_rows": [1, 1, 1, 1],   # rows per level: set by training (the tables' sizes)
    "inter_rows": [1, 1, 1, 1, 1],
}


@register("palette", DEFAULTS, "emulator-frame model: learned palette + backgrounds, exact Lanczos "
                               "inversion, context-model rANS (lossless); trained by counting")
class PaletteModel(nn.Module):
    entropy_coded = False
    lossless_model = True

    def __init__(self, frame_size, screen_size, colours, backgrounds, intra_levels, inter_levels,
                 intra_rows, inter_rows):
        super().__init__()
        if len(intra_rows) != len(intra_levels) or len(inter_rows) != len(inter_levels):
            raise ValueError("intra_rows / inter_rows need one count per level")
        if not 1 <= colours <= 30:
            raise ValueError(f"colours must be 1..30, got {colours}")
        if int(frame_size[1]) != int(screen_size[1]):
            raise ValueError("frames and screens must have the same width (only heights are resized)")
        self.frame_size = tuple(int(v) for v in frame_size)
        self.screen_size = tuple(int(v) for v in screen_size)
        self.levels = {"intra": [tuple(lv) for lv in intra_levels], "inter": [tuple(lv) for lv in inter_levels]}
        sh, sw = self.screen_size
        self.register_buffer("palette", torch.zeros(colours, 3, dtype=torch.uint8))
        self.register_buffer("backgrounds", torch.zeros(backgrounds, sh, sw, dtype=torch.uint8))
        for kind, rows in (("intra", intra_rows), ("inter", inter_rows)):
            total = int(sum(rows))
            self.register_buffer(f"{kind}_keys", torch.zeros(total, dtype=torch.int64))
            self.register_buffer(f"{kind}_level_rows", torch.tensor([int(r) for r in rows], dtype=torch.int64))
            # 16-bit frequencies stored bit-cast as int16 (safetensors has no uint16).
            self.register_buffer(f"{kind}_freqs", torch.zeros(total, colours, dtype=torch.int16))
        self._tables = {}

    # ---- tables ---------------------------------------------------------------

    def tables(self, kind):
        """ops.ContextModelTables of "intra" or "inter" (built once from the buffers)."""
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

    def palette_array(self):
        return self.palette.numpy()

    def background_array(self):
        return self.backgrounds.numpy()

    def describe(self):
        return json.dumps({"colours": int(self.palette.shape[0]),
                           "backgrounds": int(self.backgrounds.shape[0]),
                           "intra_rows": int(self.intra_keys.numel()),
                           "inter_rows": int(self.inter_keys.numel())})
