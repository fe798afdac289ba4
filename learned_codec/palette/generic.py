"""`palette-generic`: one lossless model for the screens of any game, fitted on none of them.

The fitted `palette` model knows one game (its palette, its mazes, its context
counts). This one knows how emulator screens look in general, so that a game it
never saw still codes far below the classic lossless codecs:

  - every frame (image mode) or group of pictures (video mode) carries its own
    palette: the colours it uses, sorted by frequency, named by index into the
    model's known colours (the console palette as seen in the fitting games, one
    byte each) or as RGB when new; each pixel is its index in that palette;
  - the screen is coded by an adaptive context-mixing coder (ops.screen_encode,
    csrc/cpu/screen_coder.cpp) whose contexts are colour-blind (which neighbours are
    equal, which changed since the previous screen, a match to an earlier copy of the
    same neighbourhood, the mirrored/repeated half of the playfield), with a
    background kept from the stream itself in video mode;
  - what the model holds is the coder's starting state for image and video mode: its
    structural counters and mixer weights after coding the fitting games' frames
    (learned_codec.palette.generic_fit), so a frame starts from what screens are like
    rather than from nothing.
It is an nn.Module only to hold its tensors for the checkpoint machinery.
"""
import numpy as np
import torch
from torch import nn

from learned_codec.models.registry import register
from learned_codec.ops.screen_coder import MIX_SHAPE, TABLE1_SIZE, ScreenCoderState

KNOWN_COLOURS = 256   # room for the console palette (the NTSC one has 128 colours)
ADAPT_COUNT = 10      # fitted counters keep adapting as if seen at most this often (measured: 255 -> 10 saved ~1 % on held-out stills)

DEFAULTS = {"known_colours": KNOWN_COLOURS}


@register("palette-generic", DEFAULTS, "lossless model of any emulator screen: the frame's own palette, "
                                       "adaptive context mixing with colour-blind fitted contexts (no fitting "
                                       "for the game at hand)")
class GenericPaletteModel(nn.Module):
    entropy_coded = False
    lossless_model = True

    def __init__(self, known_colours=KNOWN_COLOURS):
        super().__init__()
        if not 1 <= int(known_colours) <= 256:
            raise ValueError(f"known_colours must be 1..256, got {known_colours}")
        for kind in ("image", "video"):
            cold = ScreenCoderState.cold()
            # uint32 counters stored bit-cast as int32 (safetensors has no uint32).
            self.register_buffer(f"{kind}_table1", torch.from_numpy(cold.table1.view(np.int32).copy()))
            self.register_buffer(f"{kind}_mix", torch.from_numpy(cold.mix.copy()))
        self.register_buffer("colours", torch.zeros(int(known_colours), 3, dtype=torch.uint8))
        self.register_buffer("n_colours", torch.zeros((), dtype=torch.int64))
        self._states = {}

    def state(self, kind):
        """The coder's starting ScreenCoderState for "image" or "video" mode."""
        if kind not in self._states:
            t1 = getattr(self, f"{kind}_table1").numpy().view(np.uint32)
            mix = getattr(self, f"{kind}_mix").numpy()
            if t1.shape != (TABLE1_SIZE,) or mix.shape != MIX_SHAPE:
                raise ValueError("the model's coder state does not fit this build's screen coder")
            self._states[kind] = ScreenCoderState(t1, mix).capped(ADAPT_COUNT)
        return self._states[kind]

    def set_state(self, kind, state):
        getattr(self, f"{kind}_table1").copy_(torch.from_numpy(state.table1.view(np.int32).copy()))
        getattr(self, f"{kind}_mix").copy_(torch.from_numpy(state.mix.copy()))
        self._states.pop(kind, None)

    def known_colours(self):
        return self.colours.numpy()[: int(self.n_colours)]

    def set_known_colours(self, rgb):
        rgb = np.asarray(rgb, dtype=np.uint8).reshape(-1, 3)[: self.colours.shape[0]]
        self.colours.zero_()
        self.colours[: len(rgb)] = torch.from_numpy(rgb.copy())
        self.n_colours.fill_(len(rgb))

    def _load_from_state_dict(self, *args, **kwargs):
        self._states = {}
        super()._load_from_state_dict(*args, **kwargs)
