"""Rate-distortion evaluation: every codec on the same frames, one report.

evaluate(frames, codecs, out_dir) runs each codec (learned or classic, see
learned_codec.codec_api), measures the real encoded bytes, PSNR, SSIM and speed,
and writes into out_dir:

    rd.csv            one row per operating point (and per missing/failed codec)
    report.json       the same points, BD-rates, environment (versions, CPU, device)
    rd_psnr.png       PSNR vs bits per pixel (log x), one curve per codec family
    rd_ssim.png       SSIM vs bits per pixel (log x)
    crops.png         the same crop of the first frame from each codec at similar bytes
    report.md         all of the above tied together, plus the reference report's table

The harness knows nothing about models: learned codecs come in as codec objects.
"""
import math
import os
import platform
import time
from pathlib import Path

import numpy as np

from . import metrics
from .codec_api import check_frames
from .fileio import atomic_open, atomic_write_json, check_writable_dir

CSV_COLUMNS = [
    "codec", "setting", "status", "kind", "lossless", "frames", "bytes_total",
    "bytes_per_frame", "bpp", "psnr", "psnr_min", "ssim", "encode_fps", "decode_fps",
    "model_bytes", "container", "arch", "quant", "code_entries", "reference_ratio",
]
TARGET_PSNRS = (36.0, 41.0)  # the quality levels the spec quotes AVIF at


# ---------------------------------------------------------------- measuring

def measure(codec, frames):
    """Code `frames` with `codec`; return (row dict, first decoded frame).

    Image codecs (with encode_frame) are measured per frame: the rate is the sum of the
    per-frame files. Other codecs code the sequence as one file. Times include
    everything the codec does (for ffmpeg codecs, starting the ffmpeg process).
    """
    n, h, w, _ = frames.shape
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
        "encode_fps": n / max(t1 - t0, 1e-9),
        "decode_fps": n / max(t2 - t1, 1e-9),
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
    bar = tqdm(codecs, desc="codecs", unit="point", disable=not progress, leave=False)
    for codec in bar:
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
    return rows, first_decoded


# ---------------------------------------------------------------- summaries

def curves(rows):
    """{family: (bytes_per_frame array, psnr array, ssim array)} of measured lossy points."""
    out = {}
    for r in rows:
        if r["status"] != "ok" or r["lossless"]:
            continue
        out.setdefault(r["codec"], []).append((r["bytes_per_frame"], r["psnr"], r["ssim"]))
    return {k: tuple(np.array(c) for c in zip(*sorted(v))) for k, v in out.items()}


def bd_rates(rows, baseline_anchor="avif"):
    """BD-rate (PSNR) of every non-baseline family against every baseline family.

    With no learned codec in the run, every other baseline is compared with one anchor
    (AVIF 4:4:4 by default, the strongest image baseline) so the table stays readable.
    """
    fam = curves(rows)
    baseline = {r["codec"] for r in rows if r.get("is_baseline")}
    tests = [f for f in fam if f not in baseline]
    anchors = [f for f in fam if f in baseline]
    if not tests:
        if baseline_anchor not in fam:
            return []
        tests, anchors = [f for f in fam if f != baseline_anchor], [baseline_anchor]
    out = []
    for t in tests:
        for a in anchors:
            res = metrics.bd_rate(fam[a][0], fam[a][1], fam[t][0], fam[t][1])
            out.append({"test": t, "anchor": a,
                        "bd_rate_percent": None if math.isnan(res.percent) else res.percent,
                        "reason": res.reason})
    return out


def bytes_at_psnr(bytes_per_frame, psnr, target):
    """Bytes/frame at `target` dB, interpolated linearly in log-bytes between the two
    measured points around it; None outside the measured range (no extrapolation)."""
    order = np.argsort(psnr)
    q, b = np.asarray(psnr)[order], np.asarray(bytes_per_frame)[order]
    if len(q) == 0 or target < q[0] or target > q[-1]:
        return None
    return float(np.exp(np.interp(target, q, np.log(b))))


# ---------------------------------------------------------------- plots

def plot_rd(rows, out_dir):
    """rd_psnr.png and rd_ssim.png; lossless codecs drawn as vertical lines at their bpp."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fam_points = {}
    for r in rows:
        if r["status"] == "ok":
            fam_points.setdefault(r["codec"], []).append(r)
    paths = []
    for metric, label, fname in (("psnr", "PSNR (dB, RGB)", "rd_psnr.png"),
                                 ("ssim", "SSIM", "rd_ssim.png")):
        fig, ax = plt.subplots(figsize=(8, 5.5), dpi=110)
        for i, (name, pts) in enumerate(sorted(fam_points.items())):
            color = f"C{i % 10}"
            if all(p["lossless"] for p in pts):
                for p in pts:
                    ax.axvline(p["bpp"], color=color, ls=":", label=f"{name} (lossless)")
                continue
            pts = sorted(pts, key=lambda p: p["bpp"])
            style = "-o" if pts[0].get("is_baseline") else "-s"
            ax.plot([p["bpp"] for p in pts], [p[metric] for p in pts], style, color=color,
                    ms=4, lw=1.8 if not pts[0].get("is_baseline") else 1.2, label=name)
        ax.set_xscale("log")
        ax.set_xlabel("bits per pixel (real encoded bytes)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="best")
        ax.set_title(f"{label} vs rate")
        fig.tight_layout()
        with atomic_open(Path(out_dir) / fname, "wb") as f:
            fig.savefig(f, format="png")
        plt.close(fig)
        paths.append(fname)
    return paths


def choose_strip_target(rows):
    """Bytes/frame the crop strip compares at: the learned codecs' median point, else
    AVIF's point nearest 36 dB, else the median of all lossy points."""
    ok = [r for r in rows if r["status"] == "ok" and not r["lossless"]]
    learned = [r["bytes_per_frame"] for r in ok if not r.get("is_baseline")]
    if learned:
        return float(np.median(learned))
    avif = [r for r in ok if r["codec"] == "avif"]
    if avif:
        return min(avif, key=lambda r: abs(r["psnr"] - TARGET_PSNRS[0]))["bytes_per_frame"]
    return float(np.median([r["bytes_per_frame"] for r in ok])) if ok else None


def _detailed_crop(frame, size):
    """Top-left corner of the size x size window with the most detail (gradient energy),
    so the strip shows sprites and pellets rather than flat maze."""
    h, w = frame.shape[:2]
    size = min(size, h, w)
    f = frame.astype(np.int32)
    energy = np.zeros((h, w))
    energy[1:] += np.abs(np.diff(f, axis=0)).sum(-1)
    energy[:, 1:] += np.abs(np.diff(f, axis=1)).sum(-1)
    table = np.pad(energy.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    window = table[size:, size:] - table[:-size, size:] - table[size:, :-size] + table[:-size, :-size]
    y, x = np.unravel_index(int(np.argmax(window)), window.shape)
    return (int(y), int(x)), size


def plot_crop_strip(frames, rows, first_decoded, out_dir, crop=64):
    """crops.png: the original and each lossy family's point nearest the target bytes."""
    target = choose_strip_target(rows)
    if target is None:
        return None, None
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    picks = {}
    for i, r in enumerate(rows):
        if i not in first_decoded or r["lossless"]:
            continue
        best = picks.get(r["codec"])
        dist = abs(math.log(r["bytes_per_frame"] / target))
        if best is None or dist < best[0]:
            picks[r["codec"]] = (dist, i)
    (y, x), size = _detailed_crop(frames[0], crop)
    panels = [("original", "", frames[0])]
    for name in sorted(picks):
        r = rows[picks[name][1]]
        panels.append((f"{name} {r['setting']}",
                       f"{r['bytes_per_frame']:.0f} B  {r['psnr']:.1f} dB",
                       first_decoded[picks[name][1]]))
    fig, axes = plt.subplots(1, len(panels), figsize=(2.0 * len(panels), 2.6), dpi=110)
    for ax, (title, sub, img) in zip(np.atleast_1d(axes), panels):
        ax.imshow(img[y:y + size, x:x + size], interpolation="nearest")
        ax.set_title(f"{title}\n{sub}", fontsize=7)
        ax.axis("off")
    fig.suptitle(f"frame 0, crop {size}x{size} at ({x},{y}); each codec's setting nearest "
                 f"{target:.0f} bytes/frame", fontsize=8)
    fig.tight_layout()
    with atomic_open(Path(out_dir) / "crops.png", "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return "crops.png", target


# ---------------------------------------------------------------- environment

def environment():
    """Versions and hardware the numbers were measured with."""
    import PIL
    from PIL import features

    from .baselines import ffmpeg_version

    env = {
        "python": platform.python_version(),
        "platform": platform.platform(),
        "numpy": np.__version__,
        "pillow": PIL.__version__,
        "libjpeg": features.version("jpg"),
        "libwebp": features.version("webp"),
        "libavif": features.version("avif"),
        "ffmpeg": ffmpeg_version(),
        "cpu": _cpu_model(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else None,
    }
    try:
        import skimage

        env["scikit-image"] = skimage.__version__
    except ImportError:
        env["scikit-image"] = "not installed"
    try:
        import torch

        env["torch"] = torch.__version__
        env["device"] = (f"cuda: {torch.cuda.get_device_name(0)}"
                         if torch.cuda.is_available() else "cpu")
    except ImportError:
        env["torch"] = "not installed"
        env["device"] = "cpu"
    return env


def _cpu_model():
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


# ---------------------------------------------------------------- reference table

# The Pac-Man autoencoders report's results table (test set), transcribed as printed:
# (type, quantization, epochs, model size, representation, printed ratio, PSNR, SSIM;
# numbers kept as the printed strings)
# plus the key we match our rows on: (arch, quant, code entries per frame).
REFERENCE_ROWS = [
    ("Vanilla FC", "no quantization", 60, "768Mb", "1000 per block", "2/3 (float32)", "34.248", "0.947", ("fc", "none", 16000)),
    ("Vanilla FC", "naive quantization (method 1)", 60, "768Mb", "1000 per block", "1/6 (uint8)", "36.013", "0.9442", ("fc", "naive", 16000)),
    ("Vanilla FC", "scale quantization (method 2)", 60, "768Mb", "1000 per block", "1/6 (uint8)", "24.751", "0.790", ("fc", "affine", 16000)),
    ("Vanilla FC", "no quantization", 60, "385Mb", "500 per block", "1/6 (float32)", "33.714", "0.945", ("fc", "none", 8000)),
    ("Multilayer FC", "no quantization", 30, "3.3Gb", "1000 per block", "2/3 (float32)", "32.230", "0.947", ("fc-deep", "none", 16000)),
    ("Multilayer FC", "naive quantization (method 1)", 30, "3.3Gb", "1000 per block", "1/6 (uint8)", "32.251", "0.943", ("fc-deep", "naive", 16000)),
    ("Multilayer FC", "scale quantization (method 2)", 30, "3.3Gb", "1000 per block", "1/6 (uint8)", "24.369", "0.790", ("fc-deep", "affine", 16000)),
    ("Multilayer FC", "no quantization", 30, "3.2Gb", "500 per block", "1/6 (float32)", "32.359", "0.949", ("fc-deep", "none", 8000)),
    ("CNN 4 layers", "no quantization", 320, "2.4Mb", "16640", "~2/3 (float32)", "30.364", "0.874", ("conv4", "none", 16640)),
    ("CNN 5 layers", "no quantization", 320, "9.5Mb", "8960", "~1/3 (float32)", "29.022", "0.867", ("conv5", "none", 8960)),
    ("VAE", "no quantization", 220, "410Mb", "2048", "~1/48 (float32)", "27.436", "0.908", ("vae", "none", 2048)),
]


def reference_table_markdown(measured_rows):
    """The reference's 11 rows beside ours for the same model x quantizer x code size.

    measured_rows: row dicts with arch, quant, code_entries, bytes_per_frame, psnr, ssim
    (rows without arch are ignored). A reference row we have no measurement for shows
    "not measured" in our columns, never a number.
    """
    ours = {}
    for r in measured_rows:
        if r.get("status") == "ok" and r.get("arch"):
            ours.setdefault((r["arch"], r.get("quant") or "none", r.get("code_entries")), r)
    head = ("| reference model | quantization | epochs | model size | code | ratio printed "
            "| ratio by its formula | ref PSNR | ref SSIM | our bytes/frame | our real ratio "
            "| our PSNR | our SSIM |")
    lines = [head, "|" + "---|" * 13]
    for typ, quant, epochs, size, code, printed, ref_psnr, ref_ssim, key in REFERENCE_ROWS:
        formula = metrics.reference_compression_ratio(key[2], 4 if key[1] == "none" else 1)
        r = ours.get(key)
        if r is None:
            mine = ["not measured"] * 4
        else:
            mine = [f"{r['bytes_per_frame']:.0f}",
                    f"{r['bytes_per_frame'] / metrics.RAW_FRAME_BYTES:.4f}",
                    _fmt_psnr(r["psnr"]), f"{r['ssim']:.4f}"]
        lines.append("| " + " | ".join([typ, quant, str(epochs), size, code, printed,
                                         f"{formula:.3f}", ref_psnr, ref_ssim,
                                         *mine]) + " |")
    return "\n".join(lines)


# ---------------------------------------------------------------- writing

def _fmt_psnr(v):
    return "inf (exact)" if v is not None and math.isinf(v) else ("" if v is None else f"{v:.2f}")


def _json_safe(value):
    """JSON has no Infinity/NaN: non-finite floats become null (rows keep 'lossless')."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_safe(v) for v in value]
    if isinstance(value, np.generic):
        return _json_safe(value.item())
    return value


def write_csv(rows, path):
    import csv

    with atomic_open(path, "w") as f:
        w = csv.DictWriter(f, fieldnames=CSV_COLUMNS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r[k]) for k in CSV_COLUMNS})


def summary_table(rows):
    """Markdown table of every row, in run order."""
    lines = ["| codec | setting | bytes/frame | bpp | PSNR dB | SSIM | enc fps | dec fps | status |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        if r["status"] == "ok":
            lines.append(f"| {r['codec']} | {r['setting']} | {r['bytes_per_frame']:.0f} | "
                         f"{r['bpp']:.3f} | {_fmt_psnr(r['psnr'])} | {r['ssim']:.4f} | "
                         f"{r['encode_fps']:.1f} | {r['decode_fps']:.1f} | ok |")
        else:
            lines.append(f"| {r['codec']} | {r['setting']} | | | | | | | {r['status']} |")
    return "\n".join(lines)


def targets_table(rows):
    fam = curves(rows)
    head = "| codec | " + " | ".join(f"bytes/frame at {t:g} dB" for t in TARGET_PSNRS) + " |"
    lines = [head, "|---|" + "---|" * len(TARGET_PSNRS)]
    for name, (b, q, _) in sorted(fam.items()):
        cells = []
        for t in TARGET_PSNRS:
            v = bytes_at_psnr(b, q, t)
            cells.append("outside measured range" if v is None else f"{v:.0f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lossless = [r for r in rows if r["status"] == "ok" and r["lossless"]]
    for r in lossless:
        lines.append(f"| {r['codec']} (lossless) | " +
                     " | ".join(f"{r['bytes_per_frame']:.0f} (exact)" for _ in TARGET_PSNRS) + " |")
    return "\n".join(lines)


def bd_table(bds):
    if not bds:
        return "No pair of lossy curves to compare."
    lines = ["| test | anchor | BD-rate (PSNR) |", "|---|---|---|"]
    for b in bds:
        v = f"{b['bd_rate_percent']:+.1f} %" if b["bd_rate_percent"] is not None else \
            f"n/a ({b['reason']})"
        lines.append(f"| {b['test']} | {b['anchor']} | {v} |")
    return "\n".join(lines)


def write_markdown(report, out_dir, images):
    rows, env = report["rows"], report["environment"]
    src = report["source"]
    md = [
        "# Rate-distortion report",
        "",
        f"Frames: {src['frames']} of {src['height']}x{src['width']} RGB from {src['description']}. "
        f"Every size is the length of a real encoded file (image codecs: the sum of one file "
        f"per frame; video codecs: one file for the whole sequence, "
        f"{'; '.join(sorted({r['container'] for r in rows if r.get('kind') == 'video' and r.get('container')})) or 'n/a'}, "
        "stream headers included). PSNR is RGB with peak 255, the mean of per-frame values; SSIM "
        "is scikit-image's (channel_axis=-1, data_range=255), mean of per-frame values. "
        "Speeds are frames per second of the whole encode or decode call, each encoder with its "
        "default threading on this machine "
        "(for ffmpeg codecs, process start included). Video codecs code the frames as one "
        "sequence in the order given (for a frame data set split: its image frames, e.g. "
        "every 10th frame of each episode, not consecutive video frames).",
        "",
        f"Run time: {report['run_seconds']:.1f} s.",
        "",
        "## Bytes per frame at equal quality",
        "",
        "Interpolated in log-bytes between the two measured points around each PSNR; "
        "no extrapolation.",
        "",
        targets_table(rows),
        "",
        "## Rate-distortion curves",
        "",
    ]
    md += [f"![{p}]({p})" for p in images.get("rd", [])]
    md += ["", "## BD-rate", "",
           "Bjøntegaard delta rate (log-rate as a piecewise cubic (PCHIP) of PSNR through each "
           "curve's efficient points, integrated over the shared PSNR range; a point that is no "
           "better than a cheaper point of its curve is left out): the average change in bytes "
           "of *test* against *anchor* at equal PSNR; negative = fewer bytes than the anchor.", "", bd_table(report["bd_rates"]), ""]
    if images.get("crops"):
        md += ["## Crops at similar bytes", "",
               f"Each codec at its setting nearest {images['crop_target']:.0f} bytes/frame. "
               "For video codecs that is the mean over the sequence; frame 0, shown here, is "
               "their intra frame and costs more than the mean.", "",
               f"![crops]({images['crops']})", ""]
    md += ["## All points", "", summary_table(rows), ""]
    md += ["## The reference report's table beside ours", "",
           "The Pac-Man autoencoders report's 11 rows (its test set, its frames), next to our "
           "measurement of the same model, quantizer and code size on these frames. Its "
           "'ratio' is code entries x 4 (float32) or x 1 (uint8) / 96,000 and ignores "
           "everything else a decoder needs; 'ratio by its formula' recomputes it from the code "
           "size (the printed value differs for the 500-per-block rows and the VAE). Our ratio "
           "is real bytes / 96,000.", "",
           reference_table_markdown(rows), ""]
    md += ["## Environment", ""] + [f"- {k}: {v}" for k, v in env.items()] + [""]
    with atomic_open(Path(out_dir) / "report.md", "w") as f:
        f.write("\n".join(md))


def evaluate(frames, codecs, out_dir, missing=(), source="frames", progress=True,
             crop_strip=True):
    """Run every codec on `frames`, write the report into out_dir, return the report dict.

    frames: uint8 N x H x W x 3. codecs: codec objects (codec_api.Codec). missing: dicts
    with codec, setting, reason for codecs that could not run (listed, never dropped).
    source: one line saying where the frames come from.
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
    }
    images = {"rd": plot_rd(rows, out_dir)}
    if crop_strip:
        images["crops"], images["crop_target"] = plot_crop_strip(frames, rows, first_decoded, out_dir)
    report["run_seconds"] = time.perf_counter() - start
    report["images"] = [p for p in images["rd"]] + ([images["crops"]] if images.get("crops") else [])
    write_csv(rows, out_dir / "rd.csv")
    atomic_write_json(out_dir / "report.json", _json_safe(report))
    write_markdown(report, out_dir, images)
    return report

