"""Figures of the evaluation report: RD curves (PSNR and SSIM vs bpp) and the crops strip.

Every codec family gets its own (colour, marker, line style) from a colour-blind-safe
palette (Okabe & Ito's eight colours), assigned in name order, so that no two curves of
one figure look alike; legends sit outside the axes, never over the points.
"""
import math
from pathlib import Path

import numpy as np

from learned_codec.eval.rd import TARGET_PSNRS
from learned_codec.fileio import atomic_open

# Okabe & Ito (2008): distinguishable under the common colour-vision deficiencies.
OKABE_ITO = ("#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000")
MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">", "h")
LINES = ("-", "--", "-.", ":")


def codec_styles(names):
    """{name: (colour, marker, line style)}, distinct for up to 8 x 11 x 4 names: the colour
    changes fastest, the marker with each round of colours, the line style after that."""
    out = {}
    for i, name in enumerate(sorted(set(names))):
        out[name] = (OKABE_ITO[i % len(OKABE_ITO)], MARKERS[(i // len(OKABE_ITO)) % len(MARKERS)],
                     LINES[(i // (len(OKABE_ITO) * len(MARKERS))) % len(LINES)])
    return out



def plot_rd(rows, out_dir):
    """rd_psnr.png and rd_ssim.png; lossless codecs drawn as vertical lines at their bpp."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fam_points = {}
    for r in rows:
        if r["status"] == "ok":
            fam_points.setdefault(r["codec"], []).append(r)
    styles = codec_styles(fam_points)
    paths = []
    for metric, label, fname in (("psnr", "PSNR (dB, RGB)", "rd_psnr.png"),
                                 ("ssim", "SSIM", "rd_ssim.png")):
        fig, ax = plt.subplots(figsize=(10, 5.5), dpi=110)
        for name, pts in sorted(fam_points.items()):
            color, marker, line = styles[name]
            if all(p["lossless"] for p in pts):
                for p in pts:
                    ax.axvline(p["bpp"], color=color, ls=line if line != "-" else (0, (1, 1)), lw=1.6,
                               label=f"{name} (lossless, {p['bytes_per_frame']:.0f} B/frame)")
                continue
            pts = sorted(pts, key=lambda p: p["bpp"])
            ax.plot([p["bpp"] for p in pts], [p[metric] for p in pts], color=color, marker=marker,
                    ls=line, ms=5, lw=1.2 if pts[0].get("is_baseline") else 2.0, label=name)
        ax.set_xscale("log")
        ax.set_xlabel("bits per pixel (real encoded bytes)")
        ax.set_ylabel(label)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
        ax.set_title(f"{label} vs rate (lossless codecs: vertical lines at their rate)")
        fig.tight_layout()
        with atomic_open(Path(out_dir) / fname, "wb") as f:
            fig.savefig(f, format="png", bbox_inches="tight")
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
        if i not in first_decoded:
            continue
        best = picks.get(r["codec"])
        dist = abs(math.log(r["bytes_per_frame"] / target))
        if best is None or dist < best[0]:
            picks[r["codec"]] = (dist, i)
    (y, x), size = _detailed_crop(frames[0], crop)
    panels = [("original", "96,000 B raw", frames[0])]
    for name in sorted(picks):
        r = rows[picks[name][1]]
        quality = "exact" if r["lossless"] else f"{r['psnr']:.1f} dB"
        panels.append((name, f"{r['setting']}".strip()[:22], f"{r['bytes_per_frame']:.0f} B  {quality}",
                       first_decoded[picks[name][1]]))
    panels[0] = (panels[0][0], "", panels[0][1], panels[0][2])
    cols = min(len(panels), 7)
    nrows = -(-len(panels) // cols)
    fig, axes = plt.subplots(nrows, cols, figsize=(2.1 * cols, 2.5 * nrows + 0.4), dpi=110, squeeze=False)
    for ax in axes.flat:
        ax.axis("off")
    for ax, (title, setting, sub, img) in zip(axes.flat, panels):
        ax.imshow(img[y:y + size, x:x + size], interpolation="nearest")
        ax.set_title("\n".join(s for s in (title, setting, sub) if s), fontsize=7)
    fig.suptitle(f"frame 0, crop {size}x{size} at ({x},{y}); every codec at its setting nearest "
                 f"{target:.0f} bytes/frame (lossless codecs: their only point)", fontsize=8)
    fig.tight_layout()
    with atomic_open(Path(out_dir) / "crops.png", "wb") as f:
        fig.savefig(f, format="png")
    plt.close(fig)
    return "crops.png", target
