"""Random access to the frames of an .lcf file: a small data-set API for RL replay data.

    from learned_codec.codecs.reader import open_frames
    video = open_frames("episode.lcf")          # reads the header; decodes nothing yet
    len(video)                                  # frames in the file
    frame = video[k]                            # uint8 H x W x 3
    clip = video[100:200]                       # uint8 N x H x W x 3
    for frame in video: ...                     # one group of pictures decoded at a time

Frame k is decoded from the smallest independently decodable unit that holds it, never
the whole file: one section in image mode (each frame stands alone), the group of pictures
in a video mode (the key frame at k - k % gop up to the next key frame; the palette video
mode keeps a group per section). The unit is cut out as a file of its own, with its header
(frame count, file names) narrowed to it, and decoded by the same validated reader as a
whole file, so a cut-out decodes to exactly the frames a full decode gives (tested). The
last decoded unit is cached: reading frames in order decodes each group once.
"""
import dataclasses

import numpy as np

from learned_codec.container.format import ContainerError, pack, unpack
from learned_codec.errors import UserError


def _units(meta, n_sections):
    """[(first frame, frame count, first section, section count)] of a file's decodable units."""
    n = meta.frames
    if meta.mode == "intra":
        return [(k, 1, k, 1) for k in range(n)]
    if meta.mode in ("latent-delta", "entropy-delta"):
        gop = int(meta.extra["gop"])
        return [(s, min(gop, n - s), s, min(gop, n - s)) for s in range(0, n, gop)]
    if meta.mode == "palette":
        per = int(meta.extra.get("frames_per_section", 1))
        return [(i * per, min(per, n - i * per), i, 1) for i in range(n_sections)]
    raise ContainerError(f"no random access for files of mode {meta.mode!r}")


class LcfFrames:
    """The frames of one .lcf file, decoded on demand (see the module docstring)."""

    def __init__(self, data, model=None, device="cpu", max_memory=None):
        from learned_codec.codecs.registry import codec_for_file

        self.meta, self.sections = unpack(data)
        self.codec = codec_for_file(self.meta, model, device=device, max_memory=max_memory)
        self.units = _units(self.meta, len(self.sections))
        if sum(u[1] for u in self.units) != self.meta.frames or \
                sum(u[3] for u in self.units) != len(self.sections):
            raise ContainerError(f"file declares {self.meta.frames} frames but its sections do not hold them")
        self._starts = np.array([u[0] for u in self.units], np.int64)
        self._cached = (None, None)

    def __len__(self):
        return self.meta.frames

    @property
    def shape(self):
        return (self.meta.frames, self.meta.height, self.meta.width, 3)

    @property
    def names(self):
        return self.meta.extra.get("names")

    def _unit(self, u):
        if self._cached[0] != u:
            first, count, s0, ns = self.units[u]
            extra = dict(self.meta.extra)
            if "names" in extra:
                extra["names"] = extra["names"][first:first + count]
            sub = dataclasses.replace(self.meta, frames=count, extra=extra)
            frames = np.asarray(self.codec.decode(pack(sub, self.sections[s0:s0 + ns])))
            self._cached = (u, frames)
        return self._cached[1]

    def frame(self, k):
        k = int(k)
        if not -len(self) <= k < len(self):
            raise IndexError(f"frame {k} out of range: the file holds {len(self)} frames")
        k %= len(self)
        u = int(np.searchsorted(self._starts, k, side="right") - 1)
        return self._unit(u)[k - self.units[u][0]].copy()

    def __getitem__(self, key):
        if isinstance(key, slice):
            idx = range(*key.indices(len(self)))
            if not idx:
                return np.zeros((0, self.meta.height, self.meta.width, 3), np.uint8)
            return np.stack([self.frame(k) for k in idx])
        if isinstance(key, (int, np.integer)):
            return self.frame(key)
        raise TypeError(f"frames are indexed by int or slice, not {type(key).__name__}")

    def __iter__(self):
        for k in range(len(self)):
            yield self.frame(k)


def open_frames(path, model=None, device="cpu", max_memory=None):
    """LcfFrames of the .lcf file at `path` (its model: the shipped one that wrote it, or `model`)."""
    from pathlib import Path

    p = Path(path)
    if not p.is_file():
        raise UserError(f"no .lcf file at {path}")
    return LcfFrames(p.read_bytes(), model=model, device=device, max_memory=max_memory)
