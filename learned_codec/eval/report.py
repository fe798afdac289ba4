"""The evaluation report in Markdown: summary, targets, BD-rates, the reference report's table."""
import math
from pathlib import Path

from learned_codec.eval import metrics as metrics
from learned_codec.eval.rd import TARGET_PSNRS, bytes_at_psnr, curves
from learned_codec.fileio import atomic_open

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


def read_committed_rows(paths):
    """Rows of earlier evaluations (their rd.csv files) for the reference table: each
    learned-codec row with a status of ok, tagged with the file it came from. A missing
    or unreadable file is a UserError naming it."""
    import csv

    from learned_codec.errors import UserError

    out = []
    for path in paths:
        try:
            with open(path, newline="") as f:
                rows = list(csv.DictReader(f))
        except (OSError, UnicodeDecodeError, csv.Error) as e:
            raise UserError(f"--reference-runs {path}: cannot read it ({e})") from None
        for r in rows:
            if r.get("status") != "ok" or not r.get("arch"):
                continue
            try:
                out.append({**r, "code_entries": int(float(r["code_entries"])),
                            "bytes_per_frame": float(r["bytes_per_frame"]), "psnr": float(r["psnr"]),
                            "ssim": float(r["ssim"]), "source": str(path)})
            except (KeyError, TypeError, ValueError):
                raise UserError(f"--reference-runs {path}: not an rd.csv of learned-codec eval "
                                f"(row {r.get('codec')!r} lacks code_entries / bytes / PSNR / SSIM)") from None
    return out


def reference_table_markdown(measured_rows, committed_rows=()):
    """The reference's 11 rows beside ours for the same model x quantizer x code size.

    measured_rows: row dicts of this run with arch, quant, code_entries, bytes_per_frame,
    psnr, ssim (rows without arch are ignored); committed_rows: the same from earlier
    evaluations (read_committed_rows), used for a reference row this run did not measure
    (the one with the highest PSNR). The last column says where each of our numbers comes
    from. A reference row with no measurement anywhere shows "not measured", never a number.
    """
    ours = {}
    for r in measured_rows:
        if r.get("status") == "ok" and r.get("arch"):
            ours.setdefault((r["arch"], r.get("quant") or "none", r.get("code_entries")), (r, "this run"))
    for r in sorted(committed_rows, key=lambda r: -r["psnr"]):
        ours.setdefault((r["arch"], r.get("quant") or "none", r["code_entries"]), (r, r["source"]))
    head = ("| reference model | quantization | epochs | model size | code | ratio printed "
            "| ratio by its formula | ref PSNR | ref SSIM | our bytes/frame | our real ratio "
            "| our PSNR | our SSIM | our model (measured in) |")
    lines = [head, "|" + "---|" * 14]
    for typ, quant, epochs, size, code, printed, ref_psnr, ref_ssim, key in REFERENCE_ROWS:
        formula = metrics.reference_compression_ratio(key[2], 4 if key[1] == "none" else 1)
        r, where = ours.get(key, (None, None))
        if r is None:
            mine = ["not measured"] * 4 + [""]
        else:
            mine = [f"{r['bytes_per_frame']:.0f}",
                    f"{r['bytes_per_frame'] / metrics.RAW_FRAME_BYTES:.4f}",
                    _fmt_psnr(r["psnr"]), f"{r['ssim']:.4f}", f"{r.get('setting') or r['arch']} ({where})"]
        lines.append("| " + " | ".join([typ, quant, str(epochs), size, code, printed,
                                         f"{formula:.3f}", ref_psnr, ref_ssim,
                                         *mine]) + " |")
    return "\n".join(lines)


def _fmt_psnr(v):
    return "inf (exact)" if v is not None and math.isinf(v) else ("" if v is None else f"{v:.2f}")


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


def _classic_at(rows, psnr):
    """(family, bytes/frame) of the classic lossy codec that needs the fewest bytes for `psnr`
    (interpolated on its measured curve), or None when no classic curve spans that PSNR."""
    baseline = {r["codec"] for r in rows if r.get("is_baseline")}
    best = None
    for name, (b, q, _) in curves(rows).items():
        v = bytes_at_psnr(b, q, psnr) if name in baseline else None
        if v is not None and (best is None or v < best[1]):
            best = (name, v)
    return best


def headline(rows):
    """Three lines: best learned lossless against best classic lossless; best learned lossy
    point against the best classic codec at its PSNR; and where the learned codecs stop."""
    ok = [r for r in rows if r["status"] == "ok"]
    learned = [r for r in ok if not r.get("is_baseline")]
    label = lambda r: f"{r['codec']} ({r['setting']})" if r.get("setting") else r["codec"]  # noqa: E731
    lines = []
    ll = min((r for r in learned if r["lossless"]), key=lambda r: r["bytes_per_frame"], default=None)
    lc = min((r for r in ok if r.get("is_baseline") and r["lossless"]), key=lambda r: r["bytes_per_frame"],
             default=None)
    if ll and lc:
        lines.append(f"- **Lossless:** {label(ll)} codes every frame exactly in {ll['bytes_per_frame']:,.0f} "
                     f"B/frame, {lc['bytes_per_frame'] / ll['bytes_per_frame']:.1f}x fewer bytes than the best "
                     f"classic lossless codec, {label(lc)} ({lc['bytes_per_frame']:,.0f} B/frame).")
    pairs = []
    for r in (r for r in learned if not r["lossless"]):
        c = _classic_at(rows, r["psnr"])
        if c:
            pairs.append((r["bytes_per_frame"] / c[1], r, c))
    lossy = [r for r in learned if not r["lossless"]]
    if pairs:
        ratio, r, (name, v) = min(pairs, key=lambda p: p[0])
        verdict = f"{1 / ratio:.2f}x fewer bytes than" if ratio < 1 else f"{ratio:.2f}x the bytes of"
        lines.append(f"- **Lossy, at equal quality:** the best learned point, {label(r)}, reaches "
                     f"{r['psnr']:.1f} dB at {r['bytes_per_frame']:,.0f} B/frame: {verdict} the best classic "
                     f"codec at that PSNR, {name} ({v:,.0f} B/frame, interpolated on its curve).")
    elif lossy:
        lines.append("- **Lossy:** no classic curve was measured at the learned codecs' PSNRs "
                     f"({min(r['psnr'] for r in lossy):.1f}-{max(r['psnr'] for r in lossy):.1f} dB).")
    if lossy:
        top = max(lossy, key=lambda r: r["psnr"])
        c36 = _classic_at(rows, TARGET_PSNRS[0])
        at36 = f"; the best classic codec at {TARGET_PSNRS[0]:g} dB is {c36[0]} at {c36[1]:,.0f} B/frame" if c36 else ""
        lines.append(f"- **Highest learned lossy quality:** {top['psnr']:.1f} dB ({label(top)}, "
                     f"{top['bytes_per_frame']:,.0f} B/frame){at36}.")
    return "\n".join(lines) if lines else "- (no learned codec in this run)"


def targets_table(rows):
    fam = curves(rows)
    learned = [r["psnr"] for r in rows if r["status"] == "ok" and not r["lossless"] and not r.get("is_baseline")]
    # the quality levels the spec quotes AVIF at, plus the best learned lossy quality
    targets = list(TARGET_PSNRS) + ([math.floor(max(learned) * 10) / 10] if learned else [])
    head = "| codec | " + " | ".join(f"bytes/frame at {t:g} dB" for t in targets) + " |"
    lines = [head, "|---|" + "---|" * len(targets)]
    for name, (b, q, _) in sorted(fam.items()):
        cells = []
        for t in targets:
            v = bytes_at_psnr(b, q, t)
            cells.append("outside measured range" if v is None else f"{v:.0f}")
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    lossless = [r for r in rows if r["status"] == "ok" and r["lossless"]]
    for r in lossless:
        lines.append(f"| {r['codec']} (lossless) | " +
                     " | ".join(f"{r['bytes_per_frame']:.0f} (exact)" for _ in targets) + " |")
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


def domain_lines(rows):
    """A warning per learned codec point far below its own test-split PSNR (codecs/domain.py)."""
    from learned_codec.codecs.domain import domain_warning

    out = []
    for r in rows:
        if r.get("status") == "ok" and r.get("test_split_psnr") is not None and r.get("psnr") is not None:
            line = domain_warning(f"{r['codec']} ({r['setting']})", r["psnr"], r["test_split_psnr"])
            if line:
                out.append(f"**Out of domain** — {line}.")
    return out + [""] if out else []


def write_markdown(report, out_dir, images):
    rows, env = report["rows"], report["environment"]
    src = report["source"]
    md = [
        "# Rate-distortion report",
        "",
        headline(rows),
        "",
        *domain_lines(rows),
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
        "no extrapolation (a codec whose curve does not reach a PSNR says so). The last column "
        "is the best quality a learned lossy codec reached in this run.",
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
           "is real bytes / 96,000. Rows this run did not measure come from the committed "
           "evaluations passed with --reference-runs (their rd.csv; the quick-preset runs of "
           "benchmarks/results/train_quick.md, trained minutes on a CPU, where nothing longer "
           "was measured). Our fc and fc-deep are shared-block models (one block model for all "
           "16 positions of the frame), not the reference's per-position ones (768 MB-3.3 GB, "
           "a GPU job).", "",
           reference_table_markdown(rows, report.get("committed_rows", ())), ""]
    md += ["## Environment", ""] + [f"- {k}: {v}" for k, v in env.items()] + [""]
    with atomic_open(Path(out_dir) / "report.md", "w") as f:
        f.write("\n".join(md))
