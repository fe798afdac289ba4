"""Figures of the evaluation report: RD curves (PSNR and SSIM vs bpp) and the crops strip."""
import math
from pathlib import Path
import numpy as np
from learned_codec.eval import metrics as metrics
from learned_codec.fileio import atomic_open
from learned_codec.eval.rd import TARGET_PSNRS



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
