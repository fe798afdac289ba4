"""The `palette` codec: emulator frames coded as palette screens, losslessly.

    codec = PaletteCodec.load("palette")            # run folder or shipped name
    data = codec.encode(frames)                      # uint8 N x 200 x 160 x 3 -> .lcf bytes
    codec.decode(data)                               # -> the same frames, bit for bit

Each frame becomes the palette screen whose Lanczos resize is closest to it
(resample.invert_resize; on emulator frames, one that resizes back to the frame
exactly), coded by the model's context tables (palette/model.py) with rANS. What
the screen does not explain (nothing, on the data set's frames) is stored as a
residual, so any frame of the model's size decodes exactly: PSNR is infinite.

Video mode (gop=N): every frame except each N-th is also coded with the two
predicted tables, whose contexts include the previous decoded screen, and keeps the
shortest of the three codings. Key frames (the first, then every N-th) only use the background, so
decoding can start there.

Two forms of a screen are taken, told apart by their size and named in the file
(extra.form, absent for "resized", so that resized files are what they always were): "resized", the data set's Lanczos 200x160 frames (inverted to their screen,
as above), and "raw", the 210x160 screens ALE and Gymnasium return (each pixel's palette
index is its screen: no inversion). Never worse than a classic lossless codec: a frame
whose screen needs a residual is also coded with WebP lossless (Pillow, exact), and the
shorter of the two is kept (frame type 3, "generic"); a generic frame is never
predicted from, so the next frame is an intra frame.

Container mode "palette"; extra.gop = the key-frame interval (0: image mode),
extra.frames_per_section = STILLS_PER_SECTION in image mode (a group of stills shares a
section and its CRC; each still is still coded on its own, from the model's starting
state, so any still decodes with only its group), the gop in video mode (one section
per group of pictures, which starts with its key frame). Either way the container's
8-byte section entry is paid once per group, not per frame. A
section of k > 1 frames is k times uvarint(length) + that frame's bytes; a section
of one frame is its bytes. A frame's bytes:

    byte 0      bits 0-1 frame type: 0 intra (tables read the background), 1 inter /
                2 next (the background and the previous decoded screen; tables counted
                on frames 10 apart / consecutive frames), 3 generic (the rest of the
                frame's bytes are a WebP lossless file of it); bits 2-6 background index;
                bit 7 set when a residual follows
    without a residual: the context-coded screen (the rest of the frame's bytes)
    with one:   uvarint length L of the context-coded screen, its L bytes, then the
                residual (frame - resize(screen)) mod 256 as pack_symbols bytes
                (quant/packing.py)
"""
import os
from concurrent.futures import ThreadPoolExecutor

import numpy as np

from learned_codec.codecs.base import Codec, check_frames
from learned_codec.codecs.baselines import webp_lossless
from learned_codec.codecs.schema import PALETTE_RENDER_BATCH, check_budget
from learned_codec.container.format import (
    MAX_FRAMES,
    ContainerError,
    Meta,
    check_binding,
    pack,
    unpack,
)
from learned_codec.container.varint import read_uvarint, write_uvarint
from learned_codec.errors import UserError
from learned_codec.ops import RansDecodeError, context_decode, context_encode
from learned_codec.palette.model import assign_backgrounds
from learned_codec.palette.resample import invert_resize, resize_height
from learned_codec.quant.latent import pack_symbols, unpack_symbols

INTRA, INTER, NEXT, GENERIC = 0, 1, 2, 3
KINDS = {INTRA: "intra", INTER: "inter", NEXT: "next"}
FORMS = ("resized", "raw")
HAS_RESIDUAL = 0x80
INVERT_BATCH = 16
_GENERIC = webp_lossless()  # the never-worse path: a classic lossless codec, per frame
MODE = "palette"
STILLS_PER_SECTION = 8  # image mode: stills per section, one uvarint length each (not an 8-byte table entry)


def _split_sections(sections, meta):
    """Container sections -> one bytes object per frame (every length checked)."""
    per = meta.extra.get("frames_per_section")  # the gop: may exceed the frame count
    if not isinstance(per, int) or isinstance(per, bool) or not 1 <= per <= MAX_FRAMES:
        raise ContainerError(f"invalid frames per section {per!r}")
    if len(sections) != -(-meta.frames // per):
        raise ContainerError(f"file declares {meta.frames} frames in sections of {per} "
                             f"but holds {len(sections)} sections")
    if per == 1:
        return list(sections)
    out = []
    for k, sec in enumerate(sections):
        count, i = min(per, meta.frames - k * per), 0
        for _ in range(count):
            n, i = read_uvarint(sec, i, f"palette section {k}")
            if i + n > len(sec):
                raise ContainerError(f"palette section {k} is truncated")
            out.append(sec[i:i + n])
            i += n
        if i != len(sec):
            raise ContainerError(f"palette section {k} has bytes after its {count} frames")
    return out


def worker_count():
    """Threads for coding units: the usable cores, or OMP_NUM_THREADS where it is set lower."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    try:
        limit = int(os.environ.get("OMP_NUM_THREADS", cores))
    except ValueError:
        limit = cores
    return max(1, min(cores, limit))


def map_units(fn, items):
    """fn over items, results in order. Units (frames, or groups of pictures) are
    independent and the native coder releases the GIL, so they run on worker_count()
    threads; the first exception (a damaged section) propagates as it would serially."""
    items = list(items)
    workers = min(worker_count(), len(items))
    if workers <= 1:
        yield from map(fn, items)
        return
    with ThreadPoolExecutor(workers) as pool:
        yield from pool.map(fn, items)


def colour(palette, screens):
    """uint8 P x 3 palette, uint8 index screens (any shape) -> their RGB (shape + (3,)):
    one 1-D lookup per channel, ~3x faster than palette[screens]."""
    out = np.empty(screens.shape + (3,), dtype=np.uint8)
    for ch in range(3):
        out[..., ch] = np.take(palette[:, ch], screens)
    return out


def decode_webp_frame(data, meta, where):
    """A WebP lossless frame inside a palette file (the never-worse path) -> uint8 H x W x 3
    of the file's frame size, or a ContainerError naming `where`."""
    try:
        frame = _GENERIC.decode_frame(bytes(data))
    except Exception as e:  # Pillow raises several types for a damaged file
        raise ContainerError(f"{where}: its WebP lossless data does not decode ({e})") from None
    if frame.shape != (meta.height, meta.width, 3):
        raise ContainerError(f"{where}: WebP frame is {frame.shape[:2]}, the file's frames "
                             f"{meta.height}x{meta.width}")
    return frame


def palette_indices(frames, palette):
    """uint8 N x H x W x 3 -> uint8 N x H x W index of each pixel's colour in `palette` (exact
    for emulator screens); a colour the palette lacks gets its nearest one (the residual or
    the generic path keeps the frame exact)."""
    rgb = lambda a: (a[..., 0].astype(np.int32) << 16) | (a[..., 1].astype(np.int32) << 8) | a[..., 2]  # noqa: E731
    codes, pal = rgb(frames), rgb(palette)
    order = np.argsort(pal)
    pos = np.clip(np.searchsorted(pal[order], codes), 0, len(pal) - 1)
    idx = order[pos].astype(np.uint8)
    miss = pal[idx] != codes
    if miss.any():
        d = ((frames[miss][:, None, :].astype(np.int32) - palette.astype(np.int32)) ** 2).sum(-1)
        idx[miss] = d.argmin(-1)
    return idx


class ScreenModelCodec(Codec):
    """What the lossless screen codecs share (this one and palette/generic_codec.py): a
    model of arch ARCH, an image mode (gop 0) and a video mode (with_gop), loading by
    run folder or shipped name."""
    kind = "video"
    mode = MODE
    lossless = True
    ARCH = ""

    def __init__(self, model, config, gop=0, fps=15.0):
        if config["model"]["arch"] != self.ARCH:
            raise ValueError(f"{type(self).__name__} needs a {self.ARCH} model, not {config['model']['arch']}")
        self.model = model.eval()
        self.config = config
        self.arch = self.ARCH
        self.quant = "context"
        self.weights_sha256 = config["weights_sha256"]
        self.gop = int(gop)
        if self.gop < 0:
            raise ValueError(f"gop must be >= 0 (0: image mode), got {gop}")
        self.fps = float(fps)
        self.name = f"{self.ARCH}-video" if self.gop else self.ARCH
        self.setting = config.get("label", "")
        self.model_bytes = sum(t.numel() * t.element_size() for t in model.state_dict().values())

    @classmethod
    def load(cls, run_dir_or_name, gop=0):
        from learned_codec.models.checkpoint import load_model

        model, config = load_model(run_dir_or_name, device="cpu")
        codec = cls(model, config, gop=gop)
        codec.setting = str(run_dir_or_name) + (f" gop={gop}" if gop else "")
        return codec

    def with_gop(self, gop):
        codec = type(self)(self.model, self.config, gop=gop, fps=self.fps)
        codec.progress = self.progress
        codec.setting = f"{self.setting.split(' gop=')[0]} gop={gop}".strip()
        return codec


class PaletteCodec(ScreenModelCodec):
    ARCH = "palette"

    def __init__(self, model, config, gop=0, fps=15.0):
        super().__init__(model, config, gop, fps)
        self.code_entries = int(np.prod(model.screen_size))
        self.palette = model.palette_array()
        self.backgrounds = model.background_array()
        self.frame_size = model.frame_size
        self.screen_size = model.screen_size

    # ---- screens ---------------------------------------------------------------

    def form_of(self, height, width):
        """"resized" for the model's frame size, "raw" for its screen size; else a UserError."""
        if (height, width) == self.frame_size:
            return "resized"
        if (height, width) == self.screen_size:
            return "raw"
        raise UserError(f"the palette model codes emulator screens: raw {self.screen_size[0]}x"
                        f"{self.screen_size[1]} or resized {self.frame_size[0]}x{self.frame_size[1]}, "
                        f"not {height}x{width}")

    def screens(self, frames, form):
        """uint8 N x H x W x 3 frames -> (uint8 N x sh x sw palette screens, their rendering)."""
        if form == "raw":
            screens = palette_indices(frames, self.palette)
            self.report_progress(len(frames))
            return screens, self.render(screens, form)
        out = []
        for i in range(0, len(frames), INVERT_BATCH):
            out.append(invert_resize(frames[i:i + INVERT_BATCH], self.palette, self.screen_size[0]))
            self.report_progress(len(out[-1]))
        screens = np.concatenate(out)
        return screens, self.render(screens, form)

    def render(self, screens, form="resized"):
        """uint8 N x sh x sw palette indices -> uint8 N x H x W x 3 frames (Pillow-exact),
        PALETTE_RENDER_BATCH frames at a time (the resize's float64 temporaries are ~80 B/pixel)."""
        if form == "raw":
            return colour(self.palette, screens)
        if len(screens) <= PALETTE_RENDER_BATCH:
            return resize_height(colour(self.palette, screens), self.frame_size[0])
        out = np.empty((len(screens), *self.frame_size, 3), dtype=np.uint8)
        for i in range(0, len(screens), PALETTE_RENDER_BATCH):
            out[i:i + PALETTE_RENDER_BATCH] = resize_height(colour(self.palette, screens[i:i + PALETTE_RENDER_BATCH]),
                                                            self.frame_size[0])
        return out

    # ---- codec interface --------------------------------------------------------

    def encode(self, frames):
        frames = check_frames(frames)
        n, h, w, _ = frames.shape
        form = self.form_of(h, w)
        screens, rendered = self.screens(frames, form)
        backgrounds = assign_backgrounds(screens, self.backgrounds).tolist()
        per = self.gop or STILLS_PER_SECTION

        def unit(start):  # a group of pictures, predicted in order; or stills, each alone
            out = []
            for t in range(start, min(n, start + per)):
                predict = self.gop > 0 and t > start and out[-1][0] & 3 != GENERIC
                out.append(self._encode_frame(frames[t], screens[t], rendered[t], backgrounds[t],
                                              screens[t - 1] if predict else None))
            return out

        payloads = [p for part in map_units(unit, range(0, n, per)) for p in part]
        sections = [payloads[i] if per == 1 else b"".join(write_uvarint(len(q)) + q for q in payloads[i:i + per])
                    for i in range(0, n, per)]
        meta = Meta(arch=self.arch, weights_sha256=self.weights_sha256, height=h, width=w, frames=n,
                    fps=self.fps, mode=MODE, quantizer={"method": "context"},
                    extra={"gop": self.gop, "frames_per_section": per,
                           "screen_size": list(self.screen_size), **({"form": form} if form == "raw" else {})})
        return pack(meta, sections)

    def _encode_frame(self, frame, screen, rendered, b, previous):
        """One frame's bytes: its screen context-coded (intra, or predicted from `previous`),
        plus a residual where the screen does not explain it; or WebP lossless when shorter."""
        bg = self.backgrounds[b]
        kind, stream = INTRA, context_encode(screen, self.model.tables("intra"), self.model.references("intra", bg))
        if previous is not None:
            refs = self.model.references("inter", bg, previous)
            for alt_kind in (INTER, NEXT):
                alt = context_encode(screen, self.model.tables(KINDS[alt_kind]), refs)
                if len(alt) < len(stream):
                    kind, stream = alt_kind, alt
        resid = (frame.astype(np.int16) - rendered).astype(np.uint8)  # mod 256
        head = kind | (b << 2)
        if not resid.any():
            return bytes([head]) + stream
        coded = bytes([head | HAS_RESIDUAL]) + write_uvarint(len(stream)) + stream + pack_symbols(resid.tobytes())
        generic = bytes([GENERIC]) + _GENERIC.encode_frame(frame)
        return min(coded, generic, key=len)

    def decode(self, data):
        meta, sections = unpack(data)
        if meta.mode != MODE:
            raise ContainerError(f"not a palette file (mode {meta.mode!r})")
        check_budget(meta, self.max_memory)  # the header's schema and the memory it asks for
        self.check_compatible(meta)
        frame_bytes = _split_sections(sections, meta)
        form = meta.extra.get("form", "resized")  # files written before raw screens: resized
        if form not in FORMS or self.form_of(meta.height, meta.width) != form:
            raise ContainerError(f"file's screen form {form!r} does not fit {meta.height}x{meta.width} frames")
        sh, sw = self.screen_size
        screens = np.zeros((meta.frames, sh, sw), dtype=np.uint8)
        fixes, generic = {}, set()
        per = meta.extra["frames_per_section"]

        def unit(start):  # one group of pictures, in order; groups are independent
            stop = min(meta.frames, start + per)
            for t in range(start, stop):
                self._decode_frame(t, frame_bytes[t], start, meta, screens, fixes, generic)
            return stop - start

        for count in map_units(unit, range(0, meta.frames, per)):
            self.report_progress(count)
        frames = self.render(screens, form)
        for t, fix in fixes.items():
            if t in generic:
                frames[t] = fix
            else:
                frames[t] += fix  # uint8 arithmetic wraps: the mod-256 residual undone
        return frames

    def _decode_frame(self, t, p, start, meta, screens, fixes, generic):
        """Frame t of a group of pictures starting at `start`: its screen into screens[t],
        its residual or WebP frame into fixes (and t into generic for WebP). A predicted
        frame may only follow a screen of its own group (groups decode in parallel)."""
        sh, sw = self.screen_size
        if len(p) < 2:
            raise ContainerError(f"palette frame {t} is truncated")
        if p[0] == GENERIC:
            fixes[t] = decode_webp_frame(p[1:], meta, f"palette frame {t}")
            generic.add(t)
            return
        kind, b, residual = p[0] & 3, (p[0] >> 2) & 31, bool(p[0] & HAS_RESIDUAL)
        if kind not in KINDS or (kind != INTRA and (t == start or t - 1 in generic)):
            raise ContainerError(f"palette frame {t}: bad frame type {p[0]}")
        if b >= len(self.backgrounds):
            raise ContainerError(f"palette frame {t}: no background {b}")
        n, i = read_uvarint(p, 1, f"palette frame {t}") if residual else (len(p) - 1, 1)
        if residual and i + n >= len(p):
            raise ContainerError(f"palette frame {t}: screen data or residual is truncated")
        bg = self.backgrounds[b]
        tables = self.model.tables(KINDS[kind])
        refs = self.model.references("intra", bg) if kind == INTRA else \
            self.model.references("inter", bg, screens[t - 1])
        try:
            screens[t] = context_decode(p[i:i + n], sh, sw, tables, refs)
        except RansDecodeError as e:
            raise ContainerError(f"palette frame {t}: {e}") from None
        if residual:
            fixes[t] = np.frombuffer(unpack_symbols(p[i + n:], meta.height * meta.width * 3),
                                     dtype=np.uint8).reshape(meta.height, meta.width, 3)

    def check_compatible(self, meta):
        check_binding(meta, self.arch, self.weights_sha256)
        if meta.mode != MODE:
            raise ContainerError(f"not a palette file (mode {meta.mode!r})")
        if meta.extra.get("screen_size") != list(self.screen_size):
            raise ContainerError(f"file's screen size {meta.extra.get('screen_size')!r} is not the model's")
