"""Classic codecs behind the codec interface (learned_codec.codecs.base): real files, real bytes.

Images go through Pillow, one standalone file per frame:
    jpeg            libjpeg, 4:4:4 chroma (subsampling=0), Huffman tables optimised
    jpeg420         libjpeg, 4:2:0 chroma (subsampling=2), Huffman tables optimised
    webp            libwebp lossy (always 4:2:0: WebP's lossy mode has no 4:4:4), method 6
    webp-lossless   libwebp lossless, method 4, quality (= effort) 100
    avif            libavif (Pillow's AVIF plugin) with subsampling="4:4:4", speed 6, full range
    png             zlib, optimize=True (level 9 plus filter search)
    jxl-lossless    JPEG XL lossless (libjxl through imagecodecs), effort 9; needs imagecodecs

Video goes through the ffmpeg binary that imageio-ffmpeg ships, frames piped in as
rawvideo rgb24, the sequence coded as ONE file written as a raw elementary stream
(Annex-B .264 for H.264, low-overhead .obu for AV1: no mp4 container, so the only
overhead counted is the stream's own headers). Sizes are the length of that file.
    h264              libx264, -pix_fmt yuv444p (BT.601 limited range), preset medium, CRF
    av1               libaom-av1, -pix_fmt yuv444p, CRF with -b:v 0, -cpu-used 6 (the fastest
                      "good" mode preset: keeps the default set within minutes), -row-mt 1
    h264rgb-lossless  libx264rgb -qp 0 on rgb24: exactly lossless
    av1-lossless      libaom-av1 lossless=1 on gbrp (planar RGB, no YCbCr rounding), -cpu-used 6:
                      exactly lossless
The yuv444p conversion alone caps H.264/AV1 near 53 dB on these frames (rounding of
8-bit YCbCr), which is far above the range that matters here.

A codec that cannot run here raises CodecUnavailable from check_available() with the
reason; make_baselines() returns those as "missing" entries so reports list them.
"""
import io
import re
import subprocess

import numpy as np

from learned_codec.codecs.base import (
    CodecUnavailable,
    ImageCodec,
    VideoCodec,
    check_frames,
)
from learned_codec.ffmpeg import ffmpeg_encoders, ffmpeg_exe

# Default operating points: chosen to span roughly 28-50 dB on Pac-Man frames (WebP lossy
# and JPEG 4:2:0 stop near 24 dB whatever the quality: chroma subsampling of pixel art).
DEFAULT_QUALITIES = {
    "jpeg": [50, 70, 85, 90, 95, 98],
    "jpeg420": [50, 75, 95],
    "webp": [20, 50, 75, 90, 100],
    "avif": [20, 35, 50, 65, 80, 90],
    "h264": [6, 12, 18, 24, 30, 36],
    "av1": [15, 25, 35, 45, 55],
}
LOSSLESS = ("webp-lossless", "png", "h264rgb-lossless", "av1-lossless")
ALL_BASELINES = ("jpeg", "jpeg420", "webp", "webp-lossless", "avif", "png",
                 "h264", "av1", "h264rgb-lossless", "av1-lossless")


# ---------------------------------------------------------------- Pillow images

class PillowCodec(ImageCodec):
    """One Pillow format with fixed save options; each frame is one standalone file."""

    is_baseline = True
    container = "one standalone file per frame"

    def __init__(self, name, setting, pil_format, feature, save_options, lossless=False):
        self.name = name
        self.setting = setting
        self.pil_format = pil_format
        self.feature = feature
        self.save_options = dict(save_options)
        self.lossless = lossless

    def check_available(self):
        from PIL import features

        if not features.check(self.feature):
            raise CodecUnavailable(f"this Pillow was built without {self.feature}")
        try:  # a plugin can be present while its encoder is not (e.g. AVIF decode-only)
            self.decode_frame(self.encode_frame(np.zeros((16, 16, 3), np.uint8)))
        except Exception as e:  # any failure means the codec cannot be measured here
            raise CodecUnavailable(f"{self.pil_format} test encode failed: {e}") from None

    def encode_frame(self, frame):
        from PIL import Image

        frame = check_frames(frame)[0]
        buf = io.BytesIO()
        Image.fromarray(frame, "RGB").save(buf, format=self.pil_format, **self.save_options)
        return buf.getvalue()

    def decode_frame(self, data):
        from PIL import Image

        with Image.open(io.BytesIO(data)) as im:
            return np.asarray(im.convert("RGB"))


def jpeg(quality, subsampling="4:4:4"):
    name = "jpeg" if subsampling == "4:4:4" else "jpeg420"
    code = {"4:4:4": 0, "4:2:0": 2}[subsampling]
    return PillowCodec(name, f"q={quality}", "JPEG", "jpg",
                       {"quality": int(quality), "subsampling": code, "optimize": True})


def webp(quality):
    return PillowCodec("webp", f"q={quality}", "WEBP", "webp",
                       {"quality": int(quality), "method": 6})


def webp_lossless():
    # method 4 / effort 100: on these frames as small as method 6 (measured) and 30x faster.
    return PillowCodec("webp-lossless", "method=4", "WEBP", "webp",
                       {"lossless": True, "quality": 100, "method": 4}, lossless=True)


def avif(quality):
    return PillowCodec("avif", f"q={quality}", "AVIF", "avif",
                       {"quality": int(quality), "subsampling": "4:4:4", "speed": 6})


def png():
    return PillowCodec("png", "optimize", "PNG", "zlib", {"optimize": True}, lossless=True)


class JxlLosslessCodec(ImageCodec):
    """JPEG XL lossless through imagecodecs (libjxl), one .jxl file per frame."""

    name, is_baseline, lossless, container = "jxl-lossless", True, True, "JPEG XL codestream"

    def __init__(self, effort=9):
        self.effort = int(effort)
        self.setting = f"effort={self.effort}"

    def check_available(self):
        try:
            import imagecodecs
        except ImportError:
            raise CodecUnavailable("imagecodecs is not installed (pip install 'imagecodecs<2024.9')") from None
        if not imagecodecs.JPEGXL.available:
            raise CodecUnavailable("this imagecodecs build has no JPEG XL")

    def encode_frame(self, frame):
        import imagecodecs

        return bytes(imagecodecs.jpegxl_encode(np.ascontiguousarray(frame), lossless=True, effort=self.effort))

    def decode_frame(self, data):
        import imagecodecs

        return np.asarray(imagecodecs.jpegxl_decode(data), dtype=np.uint8)


def jxl_lossless():
    return JxlLosslessCodec()


# ---------------------------------------------------------------- ffmpeg video

class FfmpegVideoCodec(VideoCodec):
    """A sequence coded in one raw elementary-stream file by an ffmpeg encoder."""

    is_baseline = True

    def __init__(self, name, setting, encoder, encoder_args, stream_format, lossless=False,
                 timeout_s=600):
        self.name = name
        self.setting = setting
        self.encoder = encoder
        self.encoder_args = list(encoder_args)
        self.stream_format = stream_format  # ffmpeg muxer/demuxer name: "h264" or "obu"
        self.lossless = lossless
        self.timeout_s = timeout_s

    @property
    def container(self):
        return {"h264": "raw Annex-B .264", "obu": "raw low-overhead .obu"}[self.stream_format]

    def check_available(self):
        if self.encoder not in ffmpeg_encoders():
            raise CodecUnavailable(f"ffmpeg ({ffmpeg_exe()}) has no {self.encoder} encoder")

    def _run(self, cmd, data, want_log=False):
        try:
            proc = subprocess.run(cmd, input=data, capture_output=True, timeout=self.timeout_s)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"{self.encoder}: ffmpeg ran over {self.timeout_s} s") from None
        if proc.returncode != 0:
            err = proc.stderr.decode(errors="replace").strip().splitlines()
            raise RuntimeError(f"ffmpeg failed ({self.encoder}): {err[-1] if err else proc.returncode}")
        if want_log:
            return proc.stdout, proc.stderr.decode(errors="replace")
        return proc.stdout

    def encode(self, frames):
        frames = check_frames(frames)
        _, h, w, _ = frames.shape
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "error", "-nostdin",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", "25",
               "-i", "pipe:", "-an", "-c:v", self.encoder, *self.encoder_args,
               "-f", self.stream_format, "pipe:"]
        return self._run(cmd, frames.tobytes())

    def decode(self, data):
        # A raw stream has no container header; ffmpeg's stream report gives the size.
        cmd = [ffmpeg_exe(), "-hide_banner", "-loglevel", "info", "-nostdin",
               "-f", self.stream_format, "-i", "pipe:",
               "-f", "rawvideo", "-pix_fmt", "rgb24", "pipe:"]
        raw, log = self._run(cmd, bytes(data), want_log=True)
        size = _STREAM_SIZE.search(log)
        if not size:
            raise RuntimeError(f"{self.encoder}: ffmpeg did not report the frame size")
        w, h = int(size.group(1)), int(size.group(2))
        if len(raw) % (h * w * 3):
            raise RuntimeError(f"{self.encoder}: decoded {len(raw)} bytes, not whole {w}x{h} frames")
        return np.frombuffer(raw, np.uint8).reshape(-1, h, w, 3).copy()


# "Stream #0:0: Video: h264 (High 4:4:4 Predictive), yuv444p(progressive), 160x200, ..."
_STREAM_SIZE = re.compile(r"Stream #\d+:\d+.*?Video:.*?, (\d+)x(\d+)[ ,\n]")


def h264(crf):
    return FfmpegVideoCodec("h264", f"crf={crf}", "libx264",
                            ["-preset", "medium", "-crf", str(crf), "-pix_fmt", "yuv444p"], "h264")


def av1(crf, cpu_used=6):
    return FfmpegVideoCodec("av1", f"crf={crf}", "libaom-av1",
                            ["-crf", str(crf), "-b:v", "0", "-cpu-used", str(cpu_used),
                             "-row-mt", "1", "-pix_fmt", "yuv444p"], "obu")


def h264rgb_lossless():
    return FfmpegVideoCodec("h264rgb-lossless", "qp=0", "libx264rgb",
                            ["-preset", "medium", "-qp", "0", "-pix_fmt", "rgb24"], "h264",
                            lossless=True)


def av1_lossless(cpu_used=6):
    return FfmpegVideoCodec("av1-lossless", f"cpu-used={cpu_used}", "libaom-av1",
                            ["-aom-params", "lossless=1", "-cpu-used", str(cpu_used), "-row-mt", "1",
                             "-pix_fmt", "gbrp"], "obu", lossless=True)


# ---------------------------------------------------------------- selection

_MAKERS = {
    "jpeg": lambda q: jpeg(q, "4:4:4"),
    "jpeg420": lambda q: jpeg(q, "4:2:0"),
    "webp": webp,
    "avif": avif,
    "h264": h264,
    "av1": av1,
}
_SINGLE = {"webp-lossless": webp_lossless, "png": png, "h264rgb-lossless": h264rgb_lossless,
           "av1-lossless": av1_lossless}


def parse_baseline_names(text):
    """'jpeg,avif' -> ['jpeg', 'avif']; ValueError naming the unknown ones."""
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in ALL_BASELINES]
    if unknown:
        raise ValueError(f"unknown baseline(s) {', '.join(unknown)}; "
                         f"choose from {','.join(ALL_BASELINES)}")
    return names


def make_baselines(names, qualities=None):
    """Codecs for the named baselines, plus the missing ones.

    qualities maps a lossy baseline name to its list of quality/CRF values (defaults in
    DEFAULT_QUALITIES). Returns (codecs, missing): missing is a list of dicts with
    codec, setting and reason for every operating point that cannot run here.
    """
    qualities = {**DEFAULT_QUALITIES, **(qualities or {})}
    codecs, missing = [], []
    for name in names:
        if name in _SINGLE:
            candidates = [_SINGLE[name]()]
        elif name in _MAKERS:
            candidates = [_MAKERS[name](q) for q in qualities[name]]
        else:
            raise ValueError(f"unknown baseline {name!r}; choose from {','.join(ALL_BASELINES)}")
        try:
            candidates[0].check_available()  # same encoder for every operating point
        except CodecUnavailable as e:
            missing.extend({"codec": c.name, "setting": c.setting, "reason": str(e)}
                           for c in candidates)
            continue
        codecs.extend(candidates)
    return codecs, missing
