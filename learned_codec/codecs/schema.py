"""The schema of an .lcf header, and the decode budget: checked before any codec is built.

    info = validate_header(meta)            # every field typed, ranged and cross-checked
    check_budget(meta, limit=None)          # the memory decoding will need, refused above limit

`container/format.py` checks what every file has (types and ranges of arch, sizes, frames,
fps, quantizer, mode, extra); this module checks what a file's mode needs, field by field,
against what the writers of that mode write (codecs/learned.py, codecs/video.py,
palette/codec.py): the mode, the architecture's family and the quantizer method must fit
together; code_shape is a short list of positive ints whose product is bounded; gop,
frames_per_section (the gop in video mode, any count of stills in image mode) and screen_size are ints in range; k-means parameters and codebook agree;
no field is there that no writer writes. Unknown values name what is allowed.

The decode budget: from the validated header, an estimate (on the safe side) of the bytes
a decode allocates for the file's data: the output frames (N x H x W x 3, twice: the
batches and their concatenation), the model's activations for one batch of frames, the
latent symbols and codes (bytes per code entry by quantizer) or the palette screens and
residuals, and the decompressed sections. The model's own weights and the Python / torch
runtime (a few hundred MB) are not counted. Above the limit decoding is refused before
anything is allocated. Default DEFAULT_MAX_MEMORY (2 GiB); `decode --max-memory` or the
environment variable LEARNED_CODEC_MAX_MEMORY (bytes, or a number with K/M/G/T) change it.
Decompression never produces more than the header allows (quant/packing.unpack_symbols).

Torch-free, so the CLI refuses a hostile file before it imports torch.
"""
import math
import os
import re

from learned_codec.container.format import MAX_FRAMES, MAX_SIDE, ContainerError, frame_names
from learned_codec.errors import UserError
from learned_codec.models.identity import ENTROPY_ARCHS

DEFAULT_MAX_MEMORY = 2 << 30
MAX_MEMORY_ENV = "LEARNED_CODEC_MAX_MEMORY"

PALETTE_ARCH = "palette"
PALETTE_ARCHS = ("palette", "palette-generic")  # the lossless models of emulator screens
# Architectures a file may name (models/registry.FAMILIES; tests check they agree).
LEARNED_ARCHS = ("conv4", "conv5", "factorized", "fc", "fc-deep", "hyperprior", "vae")
# Latent quantizers (quant/latent.QUANTIZERS; tests check they agree) -> header keys besides "method".
LATENT_METHODS = {"none": (), "naive": (), "affine": (),
                  "kmeans": ("k", "dim", "iters", "seed", "codebook")}
# Mode -> (architecture family, allowed quantizer methods, extra keys besides "names").
MODE_SCHEMA = {
    "intra": ("learned", tuple(LATENT_METHODS) + ("entropy",), ("code_shape",)),
    "latent-delta": ("latent", tuple(LATENT_METHODS), ("code_shape", "gop")),
    "entropy-delta": ("entropy", ("entropy",), ("code_shape", "gop")),
    "palette": ("palette", ("context",), ("gop", "frames_per_section", "screen_size")),
}
# Optional extra keys per mode (absent: the default): palette "form" is "raw" for 210x160
# emulator screens; absent, the frames are the Lanczos resize (palette/codec.py).
OPTIONAL_EXTRA = {"palette": ("form",)}
PALETTE_FORMS = ("resized", "raw")
MAX_CODE_DIMS = 4
MAX_CODE_DIM = 1 << 16
MAX_CODE_ENTRIES = 1 << 26       # per frame
MAX_KMEANS_ITERS = 1 << 20
MAX_JSON_INT = 1 << 53

BATCH = 16                       # frames decoded at once (codecs/learned.BATCH)
ACT_BYTES_PER_PIXEL = 160        # model activations per pixel of a frame in the batch
                                 # (conv5 at 4096x4096 peaks ~2.4 GB: ~130 B/px, issue 20)
PALETTE_RENDER_BATCH = 64        # palette frames rendered at once (palette/codec.py)
PALETTE_RENDER_BYTES_PER_PIXEL = 80   # float64 / int64 temporaries of the Lanczos resize
# Bytes per code entry held while decoding: symbols, their stack and prediction, codes.
ENTRY_BYTES = {"none": 16, "naive": 6, "affine": 6, "kmeans": 14, "entropy": 24}


def _is_int(v):
    return isinstance(v, int) and not isinstance(v, bool)


def _int_field(where, name, v, lo, hi):
    if not _is_int(v) or not lo <= v <= hi:
        raise ContainerError(f"{where}: metadata field '{name}' must be an int in [{lo}, {hi}], "
                             f"not {v!r:.60}")
    return v


def family(arch):
    if arch in PALETTE_ARCHS:
        return "palette"
    return "entropy" if arch in ENTROPY_ARCHS else "latent"


def _code_shape(where, v):
    if (not isinstance(v, list) or not 1 <= len(v) <= MAX_CODE_DIMS
            or not all(_is_int(d) and 1 <= d <= MAX_CODE_DIM for d in v)):
        raise ContainerError(f"{where}: metadata field 'extra.code_shape' must be a list of 1 to "
                             f"{MAX_CODE_DIMS} ints in [1, {MAX_CODE_DIM}], not {v!r:.60}")
    entries = math.prod(v)
    if entries > MAX_CODE_ENTRIES:
        raise ContainerError(f"{where}: code shape {v} has {entries} entries per frame, more than "
                             f"{MAX_CODE_ENTRIES}")
    return tuple(v)


def _kmeans(where, q, entries):
    k = _int_field(where, "quantizer.k", q.get("k"), 1, 256)
    dim = _int_field(where, "quantizer.dim", q.get("dim"), 1, entries)
    if entries % dim:
        raise ContainerError(f"{where}: k-means dim {dim} does not divide the code's {entries} entries")
    for key in ("iters", "seed"):
        if key in q:
            _int_field(where, f"quantizer.{key}", q[key], 0, MAX_KMEANS_ITERS if key == "iters" else MAX_JSON_INT)
    book = q.get("codebook")
    if not isinstance(book, str) or len(book) != 8 * k * dim or not re.fullmatch(r"[0-9a-f]*", book):
        raise ContainerError(f"{where}: k-means codebook must be {8 * k * dim} hex digits "
                             f"({k} x {dim} float32)")


def validate_header(meta, where="file"):
    """The one check of a header's mode-specific fields (see the module doc); returns a dict
    of what decoding needs ({"code_shape", "gop", "frames_per_section", "screen_size"} as they
    apply). ContainerError (a UserError) naming the field and what is allowed."""
    schema = MODE_SCHEMA.get(meta.mode)
    if schema is None:
        raise ContainerError(f"{where}: unknown coding mode {meta.mode!r}; known: {', '.join(MODE_SCHEMA)}")
    fam, methods, extra_keys = schema
    if meta.arch not in LEARNED_ARCHS + PALETTE_ARCHS:
        raise ContainerError(f"{where}: unknown architecture {meta.arch!r}; known: "
                             f"{', '.join(LEARNED_ARCHS + PALETTE_ARCHS)}")
    arch_family = family(meta.arch)
    if not (fam == arch_family or (fam == "learned" and arch_family != "palette")):
        raise ContainerError(f"{where}: mode {meta.mode!r} cannot come from a {meta.arch!r} model")
    q = meta.quantizer
    method = q.get("method")
    if meta.mode == "intra":  # entropy-coded models write "entropy", the others a latent quantizer
        methods = ("entropy",) if arch_family == "entropy" else tuple(LATENT_METHODS)
    if method not in methods:
        raise ContainerError(f"{where}: quantizer {method!r:.40} does not fit a {meta.arch} model in "
                             f"mode {meta.mode!r}; allowed: {', '.join(methods)}")
    allowed_q = {"method", *LATENT_METHODS.get(method, ())}
    unknown = sorted(set(q) - allowed_q)
    if unknown:
        raise ContainerError(f"{where}: unknown quantizer field(s) {', '.join(map(repr, unknown))[:80]} "
                             f"for {method!r}; allowed: {', '.join(sorted(allowed_q))}")
    extra = meta.extra
    allowed = (*extra_keys, *OPTIONAL_EXTRA.get(meta.mode, ()), "names")
    unknown = sorted(set(extra) - set(allowed))
    if unknown:
        raise ContainerError(f"{where}: unknown field(s) extra.{', extra.'.join(map(str, unknown))[:80]} "
                             f"in mode {meta.mode!r}; allowed: {', '.join(allowed)}")
    if extra.get("form", "resized") not in PALETTE_FORMS:
        raise ContainerError(f"{where}: metadata field 'extra.form' must be one of {', '.join(PALETTE_FORMS)}, "
                             f"not {extra.get('form')!r:.40}")
    missing = [k for k in extra_keys if k not in extra]
    if missing:
        raise ContainerError(f"{where}: metadata lacks extra.{', extra.'.join(missing)} (mode {meta.mode!r})")
    info = {}
    if "code_shape" in extra_keys:
        info["code_shape"] = _code_shape(where, extra["code_shape"])
        if method == "kmeans":
            _kmeans(where, q, math.prod(info["code_shape"]))
    if meta.mode == "palette":
        gop = info["gop"] = _int_field(where, "extra.gop", extra["gop"], 0, MAX_FRAMES)
        info["frames_per_section"] = _int_field(where, "extra.frames_per_section",
                                                extra["frames_per_section"], 1, MAX_FRAMES)
        if gop and info["frames_per_section"] != gop:   # image mode groups any number of stills
            raise ContainerError(f"{where}: extra.frames_per_section {info['frames_per_section']} must be "
                                 f"the gop ({gop}) in video mode")
        ss = extra["screen_size"]
        if not isinstance(ss, list) or len(ss) != 2 or not all(_is_int(d) and 1 <= d <= MAX_SIDE for d in ss):
            raise ContainerError(f"{where}: metadata field 'extra.screen_size' must be [height, width] "
                                 f"in [1, {MAX_SIDE}], not {ss!r:.60}")
        info["screen_size"] = tuple(ss)
    elif "gop" in extra_keys:
        info["gop"] = _int_field(where, "extra.gop", extra["gop"], 1, MAX_FRAMES)
    frame_names(meta)  # extra.names, when present: one safe, distinct name per frame
    return info


def decode_memory(meta, info=None):
    """Bytes decoding a file of this (validated) header allocates for its data (module doc)."""
    info = info if info is not None else validate_header(meta)
    n, px = meta.frames, meta.height * meta.width
    out = 2 * n * px * 3
    if meta.mode == "palette":
        sh, sw = info["screen_size"]
        batch = min(n, PALETTE_RENDER_BATCH)
        # screens, residuals (at most one per frame), the render of one batch
        return out + n * sh * sw + n * px * 3 + batch * (px + sh * sw) * PALETTE_RENDER_BYTES_PER_PIXEL
    entries = math.prod(info["code_shape"])
    method = meta.quantizer.get("method")
    return out + min(n, BATCH) * px * ACT_BYTES_PER_PIXEL + n * entries * ENTRY_BYTES.get(method, 24)


_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)i?b?\s*$", re.IGNORECASE)


def parse_size(text, what="--max-memory"):
    """'2147483648', '512M', '4G', '1.5GiB' -> bytes (K/M/G/T are powers of 1024)."""
    m = _SIZE.match(str(text))
    if not m:
        raise UserError(f"{what}: {text!r} is not a size (bytes, or a number with K, M, G or T)")
    value = float(m.group(1)) * 1024 ** " kmgt".index((m.group(2) or " ").lower())
    if not 1 <= value < 1 << 62:
        raise UserError(f"{what}: {text!r} is out of range")
    return int(value)


def max_memory(limit=None):
    """The decode budget in bytes: `limit` (int or size string), else $LEARNED_CODEC_MAX_MEMORY,
    else DEFAULT_MAX_MEMORY."""
    if limit is not None:
        return limit if _is_int(limit) else parse_size(limit)
    env = os.environ.get(MAX_MEMORY_ENV)
    return parse_size(env, MAX_MEMORY_ENV) if env else DEFAULT_MAX_MEMORY


def _human(n):
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024


def check_budget(meta, limit=None, where="file", info=None):
    """Validate the header and refuse a file whose decode needs more than the budget
    (UserError naming both numbers). Returns the header info of validate_header."""
    info = info if info is not None else validate_header(meta, where)
    need, allowed = decode_memory(meta, info), max_memory(limit)
    if need > allowed:
        raise UserError(f"{where}: decoding {meta.frames} frame(s) of {meta.height}x{meta.width} needs "
                        f"about {need} bytes ({_human(need)}), more than the {allowed} bytes "
                        f"({_human(allowed)}) allowed: pass --max-memory or set {MAX_MEMORY_ENV} "
                        f"to allow more")
    return info
