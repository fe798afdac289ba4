"""The ffmpeg binary that imageio-ffmpeg ships: found once, asked once for its encoders,
and the one lossless mp4 writer (libx264rgb, qp 0) of the toolkit."""
import functools
import subprocess

from learned_codec.errors import CodecUnavailable, UserError


@functools.lru_cache(maxsize=1)
def ffmpeg_exe():
    """Path of imageio-ffmpeg's ffmpeg binary; CodecUnavailable if there is none."""
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except Exception as e:  # ImportError or its RuntimeError "no ffmpeg found"
        raise CodecUnavailable(f"no ffmpeg binary (imageio-ffmpeg): {e}") from None


@functools.lru_cache(maxsize=1)
def ffmpeg_encoders():
    """Names of the video encoders the ffmpeg binary was built with."""
    out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-encoders"],
                         capture_output=True, text=True, check=False).stdout
    names = set()
    for line in out.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[0].startswith("V"):
            names.add(parts[1])
    return frozenset(names)


def ffmpeg_version():
    try:
        out = subprocess.run([ffmpeg_exe(), "-hide_banner", "-version"],
                             capture_output=True, text=True, check=False).stdout
        return out.splitlines()[0] if out else "unknown"
    except CodecUnavailable as e:
        return f"missing ({e})"


# libx264rgb at qp 0: RGB coded exactly (what `decode -o x.mp4` writes)
LOSSLESS_MP4 = ("-c:v", "libx264rgb", "-qp", "0", "-preset", "medium")


def write_mp4(frames, out, fps, settings=LOSSLESS_MP4):
    """uint8 N x H x W x 3 frames -> an mp4 at `out` (default: lossless H.264 RGB), written to a
    temporary name beside it and renamed, so that a failure leaves nothing behind."""
    import os
    import tempfile
    from pathlib import Path

    import numpy as np

    from learned_codec.fileio import check_writable_dir

    out = Path(out)
    check_writable_dir(out.parent)
    n, h, w, _ = frames.shape
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".mp4", dir=out.parent)
    os.close(fd)
    cmd = [ffmpeg_exe(), "-y", "-loglevel", "error", "-nostdin", "-f", "rawvideo",
           "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", f"{fps:g}", "-i", "-", *settings,
           "-movflags", "+faststart", tmp]
    try:
        r = subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(), capture_output=True, timeout=600)
        if r.returncode != 0:
            raise UserError(f"ffmpeg failed writing {out}: {r.stderr.decode(errors='replace').strip()[-300:]}")
        os.replace(tmp, out)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
