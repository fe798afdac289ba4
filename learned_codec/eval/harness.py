"""Rate-distortion evaluation: every codec on the same frames, one report.

evaluate(frames, codecs, out_dir) runs each codec (learned or classic, see
learned_codec.codecs.base), measures the real encoded bytes, PSNR, SSIM and speed,
and writes into out_dir:

    rd.csv            one row per operating point (and per missing/failed codec)
    report.json       the same points, BD-rates, environment (versions, CPU, device)
    rd_psnr.png       PSNR vs bits per pixel (log x), one curve per codec family
    rd_ssim.png       SSIM vs bits per pixel (log x)
    crops.png         the same crop of the first frame from each codec at similar bytes
    report.md         all of the above tied together, plus the reference report's table

The harness knows nothing about models: learned codecs come in as codec objects.
"""
import time

import numpy as np

from learned_codec.codecs.base import check_frames
from learned_codec.eval import metrics as metrics
from learned_codec.eval.plots import plot_crop_strip, plot_rd
from learned_codec.eval.rd import bd_rates
from learned_codec.eval.report import write_markdown
from learned_codec.fileio import check_writable_dir
from learned_codec.reporting import environment, write_csv, write_json

CSV_COLUMNS = [
    "codec", "setting", "status", "kind", "lossless", "frames", "bytes_total",
    "bytes_per_frame", "bpp", "psnr", "psnr_min", "ssim", "encode_fps", "decode_fps",
    "model_bytes", "container", "arch", "quant", "code_entries", "reference_ratio", "test_split_psnr",
]


from learned_codec.eval.rd import TARGET_PSNRS  # noqa: F401  (re-exported)


def round_trip(codec, frames):
    """Encode and decode `frames` through real bytes: (bytes, decoded frames, encode s, decode s).

    Image codecs (with encode_frame) code each frame as its own file (the rate is the sum);
    other codecs code the sequence as one file."""
    per_frame = hasattr(codec, "encode_frame") and hasattr(codec, "decode_frame")
    t0 = time.perf_counter()
    if per_frame:
        files = [codec.encode_frame(f) for f in frames]
        nbytes = sum(len(f) for f in files)
    else:
        data = codec.encode(frames)
        nbytes = len(data)
    t1 = time.perf_counter()
    if per_frame:
        decoded = np.stack([np.asarray(codec.decode_frame(f)) for f in files])
    else:
        decoded = np.asarray(codec.decode(data))
    t2 = time.perf_counter()
    if decoded.shape != frames.shape or decoded.dtype != np.uint8:
        raise RuntimeError(f"decoded {decoded.dtype} {decoded.shape}, expected uint8 {frames.shape}")
    return nbytes, decoded, t1 - t0, t2 - t1


def measure(codec, frames):
    """Code `frames` with `codec`; return (row dict, first decoded frame).

    Image codecs (with encode_frame) are measured per frame: the rate is the sum of the
    per-frame files. Other codecs code the sequence as one file. Times include
    everything the codec does (for ffmpeg codecs, starting the ffmpeg process).
    """
    n, h, w, _ = frames.shape
    nbytes, decoded, encode_s, decode_s = round_trip(codec, frames)
    psnrs = metrics.psnr_per_frame(frames, decoded)
    exact = bool(np.isinf(psnrs).all())
    if getattr(codec, "lossless", False) and not exact:
        raise RuntimeError("claims to be lossless but the decoded frames differ")
    code_entries = getattr(codec, "code_entries", None)
    quant = getattr(codec, "quant", None)
    row = {
        "codec": codec.name,
        "setting": codec.setting,
        "status": "ok",
        "kind": getattr(codec, "kind", "image"),
        "lossless": exact,
        "frames": n,
        "bytes_total": nbytes,
        "bytes_per_frame": nbytes / n,
        "bpp": metrics.bpp(nbytes / n, h, w),
        "psnr": float(np.mean(psnrs)),
        "psnr_min": float(np.min(psnrs)),
        "ssim": metrics.ssim(frames, decoded),
        "encode_fps": n / max(encode_s, 1e-9),
        "decode_fps": n / max(decode_s, 1e-9),
        "model_bytes": getattr(codec, "model_bytes", None),
        "container": getattr(codec, "container", ""),
        "arch": getattr(codec, "arch", None),
        "quant": quant,
        "code_entries": code_entries,
        "reference_ratio": (
            metrics.reference_compression_ratio(code_entries, 4 if quant in (None, "none") else 1)
            if code_entries else None
        ),
        "is_baseline": bool(getattr(codec, "is_baseline", False)),
        "test_split_psnr": getattr(getattr(codec, "image", codec), "test_psnr", None),
    }
    return row, decoded[0]


def _not_measured_row(codec, setting, status):
    row = {c: None for c in CSV_COLUMNS}
    row.update(codec=codec, setting=setting, status=status, is_baseline=True)
    return row


def run_codecs(frames, codecs, missing=(), progress=True):
    """Measure every codec; failures become rows with status 'failed: ...'.

    Returns (rows, first_decoded) where first_decoded maps row index -> decoded frame 0.
    """
    from tqdm import tqdm

    rows = [_not_measured_row(m["codec"], m["setting"], f"missing: {m['reason']}")
            for m in missing]
    first_decoded = {}
    bar = tqdm(codecs, desc="eval", unit="point", disable=not progress, leave=False, dynamic_ncols=True)
    start = time.perf_counter()
    for done, codec in enumerate(bar):
        bar.set_postfix_str(codec.label)
        try:
            row, first = measure(codec, frames)
        except Exception as e:  # one broken codec must not hide the others' results
            row, first = _not_measured_row(codec.name, codec.setting,
                                           f"failed: {type(e).__name__}: {e}"), None
            row["is_baseline"] = bool(getattr(codec, "is_baseline", False))
        if first is not None:
            first_decoded[len(rows)] = first
        rows.append(row)
        if progress:  # one line per operating point too: readable in a log, where bars are not
            bar.write(_progress_line(done + 1, len(codecs), codec, row, time.perf_counter() - start))
    return rows, first_decoded


def _progress_line(done, total, codec, row, elapsed):
    eta = elapsed / done * (total - done)
    if row["status"] != "ok":
        result = row["status"][:60]
    else:
        quality = "exact" if row["lossless"] else f"{row['psnr']:.2f} dB"
        result = f"{row['bytes_per_frame']:,.0f} B/frame, {quality}"
    return (f"[eval {done}/{total}, {elapsed:.0f} s, ETA {eta:.0f} s] {codec.label}: {result}")


def evaluate(frames, codecs, out_dir, missing=(), source="frames", progress=True,
             crop_strip=True, committed_rows=()):
    """Run every codec on `frames`, write the report into out_dir, return the report dict.

    frames: uint8 N x H x W x 3. codecs: codec objects (codecs.base.Codec). missing: dicts
    with codec, setting, reason for codecs that could not run (listed, never dropped).
    source: one line saying where the frames come from. committed_rows: rows of earlier
    evaluations (report.read_committed_rows) for the reference table's rows this run
    does not measure.
    """
    frames = check_frames(frames)
    out_dir = check_writable_dir(out_dir)
    start = time.perf_counter()
    rows, first_decoded = run_codecs(frames, codecs, missing, progress)
    report = {
        "source": {"description": source, "frames": int(frames.shape[0]),
                   "height": int(frames.shape[1]), "width": int(frames.shape[2])},
        "rows": rows,
        "bd_rates": bd_rates(rows),
        "environment": environment(),
        "committed_rows": list(committed_rows),
    }
    images = {"rd": plot_rd(rows, out_dir)}
    if crop_strip:
        images["crops"], images["crop_target"] = plot_crop_strip(frames, rows, first_decoded, out_dir)
    report["run_seconds"] = time.perf_counter() - start
    report["images"] = [p for p in images["rd"]] + ([images["crops"]] if images.get("crops") else [])
    write_csv(out_dir / "rd.csv", rows, CSV_COLUMNS)
    write_json(out_dir / "report.json", report)
    write_markdown(report, out_dir, images)
    return report
