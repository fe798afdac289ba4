"""PNG plots of the classify experiments (matplotlib, Agg backend, written atomically).

    accuracy_vs_quality.png   test accuracy per codec against quality
    accuracy_vs_bytes.png     test accuracy against the training set's bytes per image
    tta.png                   time to the target validation accuracy (bars; "never" marked)
    per_class.png             per-class test accuracy, one line per run
    multi_quality.png         mean +- std test accuracy of the two arms, and per-class accuracy
    collapse.png              test accuracy and majority-class share per variant and quality
    bytes.png                 bytes per image of each compressed data set
"""
import math
from pathlib import Path

import numpy as np


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _save(fig, path):
    from learned_codec.fileio import atomic_open

    with atomic_open(path, "wb") as f:
        fig.savefig(f, format="png", dpi=110, bbox_inches="tight")
    _plt().close(fig)


def _label(row):
    return row["codec"] if row.get("quality") is None else f"{row['codec']} q={row['quality']}"


def plot_experiment(rows, out, class_names, target=None):
    plt = _plt()
    out = Path(out)
    codecs = [c for c in dict.fromkeys(r["codec"] for r in rows) if c != "original"]
    original = next((r for r in rows if r["codec"] == "original"), None)

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for c in codecs:
        # Codecs without a numeric quality (learned models) only appear in accuracy_vs_bytes.
        pts = sorted((r["quality"], r["test_acc"]) for r in rows
                     if r["codec"] == c and isinstance(r["quality"], (int, float)))
        if pts:
            ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=c)
    if original:
        ax.axhline(original["test_acc"], color="k", ls="--", label="original")
    ax.set(xlabel="quality", ylabel="test accuracy", title="Test accuracy vs training-set quality")
    ax.grid(alpha=0.3)
    ax.legend()
    _save(fig, out / "accuracy_vs_quality.png")

    fig, ax = plt.subplots(figsize=(7, 4.5))
    for c in codecs:
        pts = sorted((r["bytes_per_image"], r["test_acc"]) for r in rows if r["codec"] == c)
        ax.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=c)
    if original:
        ax.plot([original["bytes_per_image"]], [original["test_acc"]], "k*", ms=12, label="original (raw)")
    ax.set(xscale="log", xlabel="training set bytes per image", ylabel="test accuracy",
           title="Test accuracy vs bytes")
    ax.grid(alpha=0.3, which="both")
    ax.legend()
    _save(fig, out / "accuracy_vs_bytes.png")

    fig, ax = plt.subplots(figsize=(max(6, 0.45 * len(rows)), 4.5))
    labels = [_label(r) for r in rows]
    tta = [r.get("tta_s") for r in rows]
    heights = [t if t is not None else 0 for t in tta]
    bars = ax.bar(range(len(rows)), heights, color=["C0" if t is not None else "0.8" for t in tta])
    for b, t in zip(bars, tta):
        if t is None:
            ax.text(b.get_x() + b.get_width() / 2, 0, "never", ha="center", va="bottom", rotation=90, fontsize=8)
    ax.set_xticks(range(len(rows)), labels, rotation=60, ha="right", fontsize=8)
    ax.set(ylabel="training seconds", title=f"Time to {target:.0%} validation accuracy" if target else "TTA")
    _save(fig, out / "tta.png")

    plot_per_class(rows, class_names, out / "per_class.png")


def plot_per_class(rows, class_names, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(8, 4.5))
    cmap = plt.get_cmap("viridis")
    for i, r in enumerate(rows):
        color = "k" if r["codec"] == "original" else cmap(i / max(len(rows) - 1, 1))
        ax.plot(range(len(class_names)), r["per_class_test_acc"], "o-", ms=3, lw=1, color=color, label=_label(r))
    ax.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax.set(ylabel="test accuracy", title="Per-class test accuracy")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=6, ncol=2)
    _save(fig, path)


def plot_multi_quality(rows, summary, out, class_names):
    plt = _plt()
    out = Path(out)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    arms = list(summary)
    ax1.bar(arms, [summary[a]["mean"] for a in arms], yerr=[summary[a]["std"] for a in arms], capsize=6,
            color=["C0", "C1"][:len(arms)])
    for i, a in enumerate(arms):
        ax1.plot([i] * summary[a]["n"], summary[a]["test_acc"], "k.", ms=6)
    lo = min(min(s["test_acc"]) for s in summary.values())
    ax1.set(ylabel="test accuracy", title="Single input vs multi-quality (mean +- std over seeds)",
            ylim=(max(0.0, lo - 0.05), None))
    for a, color in zip(arms, ("C0", "C1")):
        per = np.array([r["per_class_test_acc"] for r in rows if r.get("arm") == a])
        ax2.plot(range(len(class_names)), per.mean(0), "o-", color=color, label=a)
    ax2.set_xticks(range(len(class_names)), class_names, rotation=45, ha="right")
    ax2.set(ylabel="test accuracy (mean over seeds)", title="Per-class test accuracy")
    ax2.grid(alpha=0.3)
    ax2.legend()
    _save(fig, out / "multi_quality.png")


def plot_collapse(rows, out):
    plt = _plt()
    out = Path(out)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.5))
    for variant in dict.fromkeys(r["arm"] for r in rows):
        pts = sorted((r["quality"], r["test_acc"], r["majority_class_share"]) for r in rows if r["arm"] == variant)
        ax1.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=variant)
        ax2.plot([p[0] for p in pts], [p[2] for p in pts], "o-", label=variant)
    ax1.set(xlabel="JPEG quality", ylabel="test accuracy (originals)", title="Training on JPEG: as written vs fixed")
    ax2.set(xlabel="JPEG quality", ylabel="share of the most predicted class", ylim=(0, 1.05),
            title="Collapse to one class (1.0 = always the same class)")
    for ax in (ax1, ax2):
        ax.grid(alpha=0.3)
        ax.legend()
    _save(fig, out / "collapse.png")


def plot_dataset_bytes(rows, path):
    plt = _plt()
    fig, ax = plt.subplots(figsize=(max(6, 0.4 * len(rows)), 4.5))
    ax.bar(range(len(rows)), [r["bytes_per_image"] for r in rows])
    ax.set_xticks(range(len(rows)), [_label(r) for r in rows], rotation=60, ha="right", fontsize=8)
    ax.set(ylabel="bytes per image", title="Compressed data set size")
    finite = [r["psnr_db"] for r in rows if r.get("psnr_db") is not None and math.isfinite(r["psnr_db"])]
    if finite:
        ax2 = ax.twinx()
        ax2.plot(range(len(rows)), [r.get("psnr_db") if r.get("psnr_db") is not None and
                                    math.isfinite(r["psnr_db"]) else np.nan for r in rows], "r.", ms=8)
        ax2.set_ylabel("PSNR (dB)", color="r")
    _save(fig, path)
