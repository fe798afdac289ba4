"""The .lcf container: a versioned, self-describing, checksummed file.

Layout (all integers little-endian):

    offset  size        field
    0       8           magic  b"\\x89LCF\\r\\n\\x1a\\n"  (binary-safe, like PNG's)
    8       2           format version (u16), currently 1
    10      4           meta_len (u32): length of the JSON metadata
    14      4           n_sections (u32): number of payload sections
    18      4           CRC32 of bytes 0..17
    22      meta_len    metadata, UTF-8 JSON object (see Meta below)
    ..      4           CRC32 of the metadata
    ..      8*n         section table: (length u32, CRC32 u32) per section
    ..      4           CRC32 of the section table
    ..      sum(length) the sections' payloads, back to back; nothing after

Metadata keys (all required; validated before use):
    arch (str), weights_sha256 (64 hex chars, or "" for codecs without
    weights), height, width, frames (ints), fps (number > 0), quantizer
    (object: {"method": str, ...parameters}), mode (str), extra (object).

Modes (one section per frame, except palette files; never more sections than frames):
    intra          every frame coded on its own (codecs/learned.py); quantizer "entropy":
                   rANS strings (hyperprior: uvarint(len z) + z string + y string)
    latent-delta   uint8 symbols, non-key frames minus the previous frame's, mod 256;
                   extra.gop = key-frame interval (codecs/video.py)
    entropy-delta  entropy-coded models: flag byte 0 + the intra payload, or flag 1 / 2 +
                   the int16 / int8 change of the latent symbols from the previous
                   frame (raw/zlib/LZMA); key frames are always 0 (codecs/video.py)
    palette        the palette model (lossless), the exception to "one section per
                   frame": one section per group of pictures in video mode, per
                   group of (independently coded) stills in image mode
                   (extra.frames_per_section); a frame is one byte of type and
                   background, its context-coded palette screen, an optional residual;
                   extra.gop = key-frame interval or 0, extra.screen_size (palette/codec.py)

The reader checks every size against the bytes actually present before it
reads or allocates anything, checks every CRC, and rejects trailing bytes, so
a truncated, bit-flipped or hostile file raises ContainerError (a UserError)
and never crashes, hangs or yields a wrong image.
"""
import json
import re
import struct
import zlib
from dataclasses import dataclass, field

from learned_codec.errors import UserError

MAGIC = b"\x89LCF\r\n\x1a\n"
VERSION = 1
_PREFIX = struct.Struct("<8sHII")  # magic, version, meta_len, n_sections
_U32 = struct.Struct("<I")
_ENTRY = struct.Struct("<II")  # length, crc32

MAX_META_BYTES = 1 << 20
MAX_SECTIONS = 1 << 22
MAX_SIDE = 1 << 14
MAX_FRAMES = 1 << 24
MAX_JSON_DEPTH = 16  # metadata nests 3 deep; deeper JSON is refused before it is parsed
_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_SHA256 = re.compile(r"^([0-9a-f]{64})?$")


class ContainerError(UserError):
    """The file is not a valid .lcf file (wrong magic or version, truncated, corrupt)."""


@dataclass
class Meta:
    arch: str
    height: int
    width: int
    frames: int
    quantizer: dict
    weights_sha256: str = ""
    fps: float = 30.0
    mode: str = "image"
    extra: dict = field(default_factory=dict)

    def to_json(self):
        return {
            "arch": self.arch, "weights_sha256": self.weights_sha256,
            "height": self.height, "width": self.width, "frames": self.frames,
            "fps": self.fps, "quantizer": self.quantizer, "mode": self.mode,
            "extra": self.extra,
        }


def _crc(data):
    return zlib.crc32(data) & 0xFFFFFFFF


def pack(meta, sections):
    """Serialise metadata and a list of bytes sections into one .lcf file image."""
    _validate_meta(meta.to_json())
    if len(sections) > meta.frames:
        raise ValueError(f"{len(sections)} sections for {meta.frames} frames (at most one per frame)")
    if len(sections) > MAX_SECTIONS:
        raise ValueError(f"too many sections ({len(sections)} > {MAX_SECTIONS})")
    meta_bytes = json.dumps(meta.to_json(), sort_keys=True, separators=(",", ":")).encode()
    if len(meta_bytes) > MAX_META_BYTES:
        raise ValueError("metadata too large")
    prefix = _PREFIX.pack(MAGIC, VERSION, len(meta_bytes), len(sections))
    table = b"".join(_ENTRY.pack(len(s), _crc(s)) for s in sections)
    for s in sections:
        if len(s) >= 1 << 32:
            raise ValueError("section larger than 4 GiB")
    return b"".join([
        prefix, _U32.pack(_crc(prefix)),
        meta_bytes, _U32.pack(_crc(meta_bytes)),
        table, _U32.pack(_crc(table)),
        *sections,
    ])


class _Reader:
    """Bounds-checked cursor over the file bytes."""

    def __init__(self, data):
        self.data = memoryview(data)
        self.pos = 0

    def take(self, n, what):
        if n < 0 or n > len(self.data) - self.pos:
            raise ContainerError(
                f"file is truncated: {what} needs {n} bytes at offset {self.pos}, "
                f"{len(self.data) - self.pos} left")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def take_checked(self, n, what):
        blob = bytes(self.take(n, what))
        (crc,) = _U32.unpack(self.take(4, f"{what} checksum"))
        if _crc(blob) != crc:
            raise ContainerError(f"{what} is corrupt (CRC32 mismatch)")
        return blob


def unpack(data):
    """Parse and validate an .lcf file image -> (Meta, list of bytes sections)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError("unpack expects bytes")
    r = _Reader(data)
    if len(data) < len(MAGIC) or bytes(data[:len(MAGIC)]) != MAGIC:
        raise ContainerError("not an .lcf file (wrong magic bytes)")
    prefix = r.take_checked(_PREFIX.size, "file header")
    _, version, meta_len, n_sections = _PREFIX.unpack(prefix)
    if version != VERSION:
        raise ContainerError(f"unsupported .lcf version {version} (this reader knows {VERSION})")
    if meta_len > MAX_META_BYTES:
        raise ContainerError(f"metadata length {meta_len} exceeds {MAX_META_BYTES}")
    if n_sections > MAX_SECTIONS:
        raise ContainerError(f"section count {n_sections} exceeds {MAX_SECTIONS}")
    meta_bytes = r.take_checked(meta_len, "metadata")
    try:
        text = meta_bytes.decode("utf-8")
        _check_depth(text)
        meta_json = json.loads(text)
    except (UnicodeDecodeError, ValueError, RecursionError) as e:  # RecursionError: deep nesting
        raise ContainerError(f"metadata is not valid JSON: {e}") from None
    meta = _validate_meta(meta_json)
    if n_sections > meta.frames:  # every mode has at most one section per frame
        raise ContainerError(f"file declares {meta.frames} frames but {n_sections} sections")
    table = r.take_checked(_ENTRY.size * n_sections, "section table")
    entries = list(_ENTRY.iter_unpack(table))
    total = sum(length for length, _ in entries)
    remaining = len(data) - r.pos
    if total != remaining:
        what = "truncated" if total > remaining else "followed by unexpected bytes"
        raise ContainerError(f"file is {what}: sections declare {total} bytes, {remaining} present")
    sections = []
    for i, (length, crc) in enumerate(entries):
        blob = bytes(r.take(length, f"section {i}"))
        if _crc(blob) != crc:
            raise ContainerError(f"section {i} is corrupt (CRC32 mismatch)")
        sections.append(blob)
    return meta, sections


def _check_depth(text):
    """Refuse JSON nested deeper than MAX_JSON_DEPTH (strings skipped), before parsing it."""
    if text.count("[") + text.count("{") <= MAX_JSON_DEPTH:
        return
    depth = 0
    for c in _JSON_STRING.sub("", text):
        if c in "[{":
            depth += 1
            if depth > MAX_JSON_DEPTH:
                raise ContainerError(f"metadata JSON is nested deeper than {MAX_JSON_DEPTH} levels")
        elif c in "]}":
            depth -= 1


META_KEYS = ("arch", "weights_sha256", "height", "width", "frames", "fps", "quantizer", "mode", "extra")


def _validate_meta(m):
    def need(key, types, check=None, desc=""):
        if key not in m:
            raise ContainerError(f"metadata lacks '{key}'")
        v = m[key]
        if not isinstance(v, types) or isinstance(v, bool) or (check and not check(v)):
            raise ContainerError(f"metadata field '{key}' is invalid{desc}: {v!r:.80}")
        return v

    if not isinstance(m, dict):
        raise ContainerError("metadata is not a JSON object")
    unknown = sorted(set(m) - set(META_KEYS))
    if unknown:
        raise ContainerError(f"metadata has unknown field(s) {', '.join(map(repr, unknown))[:80]}; "
                             f"known: {', '.join(META_KEYS)}")
    arch = need("arch", str, lambda v: 0 < len(v) <= 64)
    sha = need("weights_sha256", str, lambda v: bool(_SHA256.match(v)), " (64 hex chars)")
    h = need("height", int, lambda v: 0 < v <= MAX_SIDE)
    w = need("width", int, lambda v: 0 < v <= MAX_SIDE)
    n = need("frames", int, lambda v: 0 < v <= MAX_FRAMES)
    fps = need("fps", (int, float), lambda v: 0 < v <= 1000)
    q = need("quantizer", dict, lambda v: isinstance(v.get("method"), str))
    mode = need("mode", str, lambda v: 0 < len(v) <= 32)
    extra = need("extra", dict)
    return Meta(arch=arch, weights_sha256=sha, height=h, width=w, frames=n, fps=float(fps),
                quantizer=q, mode=mode, extra=extra)


MAX_NAME = 100
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,%d}$" % (MAX_NAME - 1))


def safe_name(name):
    """A file name reduced to what is safe to write anywhere: its stem, [A-Za-z0-9._-] only
    (other characters become _), no leading dot, at most MAX_NAME characters; None if empty."""
    stem = str(name).replace("\\", "/").rsplit("/", 1)[-1].rsplit(".", 1)[0]
    stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem).lstrip("._-")[:MAX_NAME]
    return stem or None


def frame_names(meta):
    """The input file names stored in extra.names (one safe name per frame), or None.

    A file may carry them or not; names that are not one safe, distinct name per frame
    (a hostile or damaged header: path separators, '..', duplicates) are a ContainerError."""
    names = meta.extra.get("names")
    if names is None:
        return None
    if (not isinstance(names, list) or len(names) != meta.frames
            or not all(isinstance(n, str) and _NAME.match(n) and ".." not in n for n in names)
            or len(set(names)) != len(names)):
        raise ContainerError("metadata field 'extra.names' is not one safe, distinct file name per frame")
    return names


def with_extra(data, **extra):
    """The same file with keys added to its metadata's extra (names: sanitised; duplicate or
    empty names leave the file without names)."""
    meta, sections = unpack(data)
    if "names" in extra:
        names = [safe_name(n) for n in extra.pop("names")]
        if None not in names and len(set(names)) == len(names) == meta.frames:
            extra["names"] = names
    meta.extra = {**meta.extra, **extra}
    return pack(meta, sections)


def read_bytes(path):
    """The bytes of a file, or a UserError saying why it cannot be read."""
    try:
        with open(path, "rb") as f:
            return f.read()
    except OSError as e:
        raise UserError(f"cannot read {path}: {e.strerror or e}") from None


def read_file(path):
    """Read and validate an .lcf file from disk."""
    return unpack(read_bytes(path))


def check_binding(meta, arch, weights_sha256):
    """Refuse a file made by another architecture or other weights (ContainerError)."""
    if meta.arch != arch:
        raise ContainerError(f"file was encoded with a {meta.arch} model, not {arch}")
    if meta.weights_sha256 != weights_sha256:
        raise ContainerError(
            f"file needs weights {meta.weights_sha256[:12]}…, this model has "
            f"{weights_sha256[:12]}… (wrong model or retrained weights)")
