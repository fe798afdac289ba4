"""The codec of the `palette-generic` model: any emulator screen, any game, losslessly.

    codec = GenericPaletteCodec.load("palette-generic")
    data = codec.encode(frames)        # uint8 N x H x W x 3 -> .lcf bytes (exact)
    codec.with_gop(50).encode(frames)  # video mode: a group of pictures per section

Two forms of a screen, named in the file (extra.form): "raw", the screen as ALE and
Gymnasium return it (any size: 210x160, Pac-Man's 250x160), each pixel a palette
index; "resized", 200x160 frames that are the Lanczos resize of 210- or 250-row
screens (the Pac-Man data set's form), inverted to their screen by the native
exact search (resample.invert_exact: the console's known colours and the frame's own
flat-run colours as candidates), kept only when the screen resizes back to the frame
exactly. The form is chosen per file: "resized"
(screen height in extra.screen_size) when the frames are 200x160 and any of a few
frames spread over the input inverts exactly, else "raw".

Never worse than classic lossless: a frame without an exact screen (a resized frame
that does not invert) is WebP lossless inside its unit; in image mode, so is a still
whose colours do not fit the group's 255 with those before it (a photo), and a still
whose screen coding is dense (> DENSE_BPP bits per pixel, where WebP can win: photos,
noise) when WebP is shorter; a video unit (a group of pictures) whose screens use
more than 255 colours is all WebP lossless, and so is a dense one when WebP is shorter. Emulator screens cost ~0.01-0.07 bits
per pixel, so on them WebP is never even tried, which keeps encoding fast.

Container mode "palette" (as the fitted palette model; arch "palette-generic"),
extra.gop, extra.frames_per_section (the gop in video mode; image mode groups
STILLS_PER_SECTION stills in a section: each still is still coded on its own, from
the model's starting state, but the group shares one palette and one section-table
entry, ~15 B/frame less than a section per still, which is a third of a Breakout
still), extra.screen_size, extra.form.
A section is one unit:

    byte 0  0: screens, 1: WebP lossless frames
    screens uvarint K, K bytes (indices into the model's known colours), uvarint U,
            3U bytes (RGB of colours the model does not know): the unit's palette,
            in this order; then per frame its type (0: screen, 1: WebP lossless, for
            a resized frame without an exact screen), uvarint length, its bytes: the
            coder stream (ops.screen_encode over the unit's screen frames; video mode:
            one adaptive state across them, each predicted from the one before) or
            the WebP file
    WebP    per frame uvarint length + a WebP lossless file
"""
import numpy as np

from learned_codec.codecs.base import check_frames
from learned_codec.codecs.baselines import webp_lossless
from learned_codec.codecs.schema import check_budget
from learned_codec.container.format import MAX_FRAMES, ContainerError, Meta, check_binding, pack, unpack
from learned_codec.container.varint import read_uvarint, write_uvarint
from learned_codec.ops import RansDecodeError
from learned_codec.ops.screen_coder import SCREEN_MAX_COLOURS, screen_decode, screen_encode
from learned_codec.palette.codec import STILLS_PER_SECTION, ScreenModelCodec, colour, decode_webp_frame, map_units
from learned_codec.palette.resample import invert_exact, resize_height

SCREENS, WEBP = 0, 1
MODE = "palette"
ARCH = "palette-generic"
RESIZED_FRAME = (200, 160)
SCREEN_HEIGHTS = (210, 250)  # the ALE's screen heights (most games; Pac-Man and a few others)
DENSE_BPP = 0.25
FORM_PROBES = 5   # frames tried when choosing a file's form
ENCODE_BLOCK = 256   # frames whose screens are held at once while encoding (~34 MB of int32)
_WEBP = webp_lossless()


def probe_frames(frames, k=FORM_PROBES):
    """Up to k frames spread evenly over the input (first and last included): what a
    file's form and encode's model choice are judged on, so that one uniform frame (a
    black screen fits every model and both screen heights) does not decide."""
    return frames[np.unique(np.linspace(0, len(frames) - 1, min(k, len(frames))).astype(int))]


def rgb24(frames):
    f = np.asarray(frames)
    return (f[..., 0].astype(np.int32) << 16) | (f[..., 1].astype(np.int32) << 8) | f[..., 2]


def unit_palette(codes, known):
    """int32 rgb24 pixels of a unit, known-colour table (rgb24, sorted) -> (palette rgb24
    in coding order: known colours by frequency, then new ones by frequency; number
    known; their indices in `known`), or None when the unit has > 255 colours."""
    u, counts = np.unique(codes, return_counts=True)
    if len(u) > SCREEN_MAX_COLOURS:
        return None
    pos = np.clip(np.searchsorted(known, u), 0, max(len(known) - 1, 0))
    is_known = (known[pos] == u) if len(known) else np.zeros(len(u), bool)
    order = np.lexsort((-counts, ~is_known))  # known first, each group by frequency
    return u[order], int(is_known.sum()), pos[order][: int(is_known.sum())]


def indices(codes, palette):
    order = np.argsort(palette)
    return order[np.searchsorted(palette[order], codes)].astype(np.uint8)


class GenericPaletteCodec(ScreenModelCodec):
    ARCH = ARCH
    RESIZED_FRAME = RESIZED_FRAME

    def __init__(self, model, config, gop=0, fps=15.0):
        super().__init__(model, config, gop, fps)
        self.known = model.known_colours()
        self.known24 = rgb24(self.known)
        self._lut = None  # rgb24 -> known colour index (255: unknown), built on first use
        if len(np.unique(self.known24)) != len(self.known24) or (np.diff(self.known24) < 0).any():
            raise ValueError("the model's known colours must be distinct and sorted")

    # ---- screens ---------------------------------------------------------------

    def _invert(self, frames, screen_h):
        """Resized frames -> (rgb24 screen_h-row screens, bool ok per frame): where ok,
        the screen resizes back to the frame exactly. Candidate colours: the known
        (console) colours and the frame's own flat-run colours (resample.invert_exact)."""
        return invert_exact(frames, self.known, screen_h)

    def _form(self, frames):
        """-> (form, screen size) of a file of these frames: "resized" when any of up to
        FORM_PROBES frames spread over the input inverts (one frame may not: a column
        past the search budget), with the screen height most of them invert to (a
        uniform frame inverts to both heights: it must not decide)."""
        if frames.shape[1:3] == RESIZED_FRAME:
            probes = probe_frames(frames)
            votes = [int(self._invert(probes, screen_h)[1].sum()) for screen_h in SCREEN_HEIGHTS]
            if max(votes) > 0:
                return "resized", (SCREEN_HEIGHTS[int(np.argmax(votes))], RESIZED_FRAME[1])
        return "raw", frames.shape[1:3]

    def _frame_codes(self, frames, form, screen_h):
        """rgb24 screen of every frame (None where a resized frame does not invert exactly)."""
        if form == "raw":
            return list(rgb24(frames))
        codes, ok = self._invert(frames, screen_h)
        return [c if k else None for c, k in zip(codes, ok)]

    def _lookup(self):
        """rgb24 -> index among the known colours (255: unknown), made once."""
        if self._lut is None:
            lut = np.full(1 << 24, 255, dtype=np.uint8)
            lut[self.known24] = np.arange(len(self.known24))
            self._lut = lut
        return self._lut

    def _palette_screens(self, codes):
        """rgb24 screens of a unit -> (palette, number known, their known indices, uint8
        index screens), or None over 255 colours. Screens in known colours only (emulator
        screens) take a lookup table; others the general path."""
        k = np.take(self._lookup(), codes)   # (np.take: ~2x faster than fancy indexing here)
        counts = np.bincount(k.ravel(), minlength=256)
        if len(self.known24) < 255 and not counts[255]:
            used = np.flatnonzero(counts)
            used = used[np.argsort(-counts[used], kind="stable")]
            remap = np.zeros(256, dtype=np.uint8)
            remap[used] = np.arange(len(used))
            return self.known24[used], len(used), used, np.take(remap, k)
        pal = unit_palette(codes, self.known24)
        if pal is None:
            return None
        return (*pal, indices(codes, pal[0]))

    def _encode_unit(self, frames, codes):
        """One section: the unit's screens (codes: rgb24 screen per frame, None where a
        resized frame has none) coded, other frames as WebP lossless; or all of it WebP
        lossless when no frame is a screen or, on a dense unit, when that is shorter."""
        video = self.gop > 0
        if video:
            pal = self._palette_screens(np.stack([c for c in codes if c is not None])) \
                if any(c is not None for c in codes) else None
            on_screen = [c is not None and pal is not None for c in codes]
        else:
            on_screen, pal = self._group_palette(codes)
        section = None
        if pal is not None:
            palette, n_known, known_idx, screens = pal
            streams = iter(screen_encode(screens, len(palette), video=video,
                                         state=self.model.state("video" if video else "image")))
            new = palette[n_known:]
            parts = [bytes([SCREENS]), write_uvarint(n_known), known_idx.astype(np.uint8).tobytes(),
                     write_uvarint(len(new)),
                     np.stack([(new >> 16) & 255, (new >> 8) & 255, new & 255], 1).astype(np.uint8).tobytes()]
            dense = DENSE_BPP * frames.shape[1] * frames.shape[2] / 8
            for frame, ok in zip(frames, on_screen):  # per frame: its type, length, bytes
                data = next(streams) if ok else _WEBP.encode_frame(frame)
                if ok and not video and len(data) > dense:   # a still alone: keep the shorter
                    webp = _WEBP.encode_frame(frame)
                    ok, data = (False, webp) if len(webp) < len(data) else (ok, data)
                parts += [bytes([SCREENS if ok else WEBP]), write_uvarint(len(data)), data]
            section = b"".join(parts)
        pixels = frames.shape[0] * frames.shape[1] * frames.shape[2]
        if section is None or 8 * len(section) > DENSE_BPP * pixels:
            files = [_WEBP.encode_frame(f) for f in frames]
            webp = bytes([WEBP]) + b"".join(write_uvarint(len(b)) + b for b in files)
            if section is None or len(webp) < len(section):
                section = webp
        return section

    def _group_palette(self, codes):
        """Image mode: (on_screen per frame, the palette of those frames or None). All
        screens share it when their colours fit in 255 together (emulator screens: one
        lookup); otherwise, in order, a screen joins while the union still fits and the
        others (photos) are WebP lossless on their own."""
        on_screen = [c is not None for c in codes]
        if not any(on_screen):
            return on_screen, None
        pal = self._palette_screens(np.stack([c for c in codes if c is not None]))
        if pal is not None:
            return on_screen, pal
        union = np.zeros(0, np.int32)
        for t, c in enumerate(codes):
            if c is not None:
                joined = np.union1d(union, np.unique(c))
                on_screen[t] = len(joined) <= SCREEN_MAX_COLOURS
                union = joined if on_screen[t] else union
        if not any(on_screen):
            return on_screen, None
        return on_screen, self._palette_screens(np.stack([c for c, ok in zip(codes, on_screen) if ok]))

    def encode(self, frames):
        frames = check_frames(frames)
        n, h, w, _ = frames.shape
        form, screen = self._form(frames)
        per = self.gop or STILLS_PER_SECTION
        self._lookup()
        sections = []
        block = per * max(1, ENCODE_BLOCK // per)
        for b in range(0, n, block):   # screens of a block at once: the inversion reuses columns
            part = frames[b:b + block]
            codes = self._frame_codes(part, form, screen[0])
            for i, section in zip(range(0, len(part), per),
                                  map_units(lambda i: self._encode_unit(part[i:i + per], codes[i:i + per]),
                                            range(0, len(part), per))):
                sections.append(section)
                self.report_progress(len(part[i:i + per]))   # here, not in the workers: one thread
        meta = Meta(arch=self.arch, weights_sha256=self.weights_sha256, height=h, width=w, frames=n,
                    fps=self.fps, mode=MODE, quantizer={"method": "context"},
                    extra={"gop": self.gop, "frames_per_section": per,
                           "screen_size": [int(v) for v in screen], "form": form})
        return pack(meta, sections)

    # ---- decoding ----------------------------------------------------------------

    def decode(self, data):
        meta, sections = unpack(data)
        check_budget(meta, self.max_memory)
        self.check_compatible(meta)
        form = meta.extra.get("form", "resized")
        sh, sw = meta.extra["screen_size"]
        resized_ok = (meta.height, meta.width) == RESIZED_FRAME and sh in SCREEN_HEIGHTS and sw == meta.width
        if (form == "resized" and not resized_ok) or (form == "raw" and [sh, sw] != [meta.height, meta.width]):
            raise ContainerError(f"file's screen form {form!r} and screen size {sh}x{sw} do not fit "
                                 f"{meta.height}x{meta.width} frames")
        per = meta.extra["frames_per_section"]
        if len(sections) != -(-meta.frames // per):
            raise ContainerError(f"file declares {meta.frames} frames in sections of {per} "
                                 f"but holds {len(sections)} sections")
        video = meta.extra["gop"] > 0
        out = np.empty((meta.frames, meta.height, meta.width, 3), dtype=np.uint8)
        def unit(k):
            count = min(per, meta.frames - k * per)
            out[k * per:k * per + count] = self._decode_unit(sections[k], count, meta, form, (sh, sw), video, k)
            return count

        for count in map_units(unit, range(len(sections))):
            self.report_progress(count)
        return out

    def _decode_unit(self, sec, count, meta, form, screen_size, video, k):
        where = f"palette-generic section {k}"
        if len(sec) < 1 or sec[0] not in (SCREENS, WEBP):
            raise ContainerError(f"{where}: bad unit type")
        i = 1
        if sec[0] == SCREENS:
            n_known, i = read_uvarint(sec, i, where)
            if i + n_known > len(sec):
                raise ContainerError(f"{where} is truncated")
            known_idx = np.frombuffer(bytes(sec[i:i + n_known]), dtype=np.uint8)
            i += n_known
            if (known_idx >= len(self.known)).any():
                raise ContainerError(f"{where}: colour index beyond the model's {len(self.known)} known colours")
            n_new, i = read_uvarint(sec, i, where)
            if i + 3 * n_new > len(sec) or not 1 <= n_known + n_new <= SCREEN_MAX_COLOURS:
                raise ContainerError(f"{where}: bad palette ({n_known} + {n_new} colours)")
            new = np.frombuffer(bytes(sec[i:i + 3 * n_new]), dtype=np.uint8).reshape(-1, 3)
            i += 3 * n_new
            palette = np.concatenate([self.known[known_idx], new])
        kinds, streams = [], []
        for _ in range(count):
            if sec[0] == SCREENS:
                if i >= len(sec) or sec[i] not in (SCREENS, WEBP):
                    raise ContainerError(f"{where}: bad frame type")
                kinds.append(sec[i])
                i += 1
            else:
                kinds.append(WEBP)
            n, i = read_uvarint(sec, i, where)
            if i + n > len(sec):
                raise ContainerError(f"{where} is truncated")
            streams.append(bytes(sec[i:i + n]))
            i += n
        if i != len(sec):
            raise ContainerError(f"{where} has bytes after its {count} frames")
        out = np.empty((count, meta.height, meta.width, 3), dtype=np.uint8)
        on_screen = [t for t in range(count) if kinds[t] == SCREENS]
        for t in range(count):
            if kinds[t] == WEBP:
                out[t] = decode_webp_frame(streams[t], meta, where)
        if on_screen:
            try:
                screens = screen_decode([streams[t] for t in on_screen], *screen_size, len(palette), video=video,
                                        state=self.model.state("video" if video else "image"))
            except RansDecodeError as e:
                raise ContainerError(f"{where}: {e}") from None
            rgb = colour(palette, screens)
            rgb = resize_height(rgb, RESIZED_FRAME[0]) if form == "resized" else rgb
            if len(on_screen) == count:
                out = rgb
            else:
                out[on_screen] = rgb
        return out

    def check_compatible(self, meta):
        check_binding(meta, self.arch, self.weights_sha256)
        if meta.mode != MODE:
            raise ContainerError(f"not a palette file (mode {meta.mode!r})")
        per = meta.extra.get("frames_per_section")
        if not isinstance(per, int) or isinstance(per, bool) or not 1 <= per <= MAX_FRAMES:
            raise ContainerError(f"invalid frames per section {per!r}")


__all__ = ["GenericPaletteCodec", "probe_frames", "rgb24", "unit_palette", "indices"]
