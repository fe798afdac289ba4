"""compress-model's outputs: report.json, summary.csv (+ per_class.csv), PNG plots, report.md.

Classifiers: the reference paper's Table 3 (top-1, micro P/R/F1 per variant) and Table 4
(impacted classes and images) shapes, with the paper's VGG-19 / CIFAR-10 numbers beside
them, bytes and latency; per-class accuracy per variant as a bar plot.
Codecs: decoder bytes, PSNR/SSIM at the codec's rate (bytes per frame) and their change,
decoder latency; PSNR and SSIM against decoder bytes as plots.
"""
from pathlib import Path

from learned_codec.fileio import atomic_open
from learned_codec.reporting import write_csv, write_json

# The reference paper's VGG-19 on CIFAR-10 (Tables 3 and 4): top-1 %, micro P/R/F1,
# impacted classes, impacted images.
PAPER_VGG19 = {
    "original": (85.87, 0.86, 0.86, 0.86, None, None),
    "prune-0.3": (85.46, 0.85, 0.85, 0.85, 2, 277),
    "prune-0.5": (85.20, 0.85, 0.85, 0.85, 2, 301),
    "prune-0.7": (85.14, 0.85, 0.85, 0.85, 3, 262),
    "prune-0.9": (81.06, 0.81, 0.81, 0.81, 3, 409),
    "fp16": (85.88, 0.86, 0.86, 0.86, 0, 2),
    "int8-dynamic": (85.71, 0.86, 0.86, 0.86, 0, 31),
}

CLASSIFIER_COLUMNS = ["variant", "method", "requested_sparsity", "reached_sparsity", "top1", "micro_precision",
                      "micro_recall", "micro_f1", "delta_top1", "impacted_classes", "impacted_images",
                      "impacted_images_exact", "class_accuracy_std", "weights_bytes", "model_file_bytes",
                      "size_ratio", "ms_per_image"]
CODEC_COLUMNS = ["variant", "method", "requested_sparsity", "reached_sparsity", "decoder_bytes", "decoder_ratio",
                 "model_file_bytes", "bytes_per_frame", "bpp", "psnr", "delta_psnr", "psnr_min", "ssim",
                 "delta_ssim", "decoder_ms_per_frame", "decode_fps"]


def write_report(report, out_dir, environment=None):
    """All output files for a compress_classifier / compress_codec report; returns their names."""
    out_dir = Path(out_dir)
    if environment:
        report["environment"] = environment
    write_json(out_dir / "report.json", report)
    files = ["report.json", "summary.csv"]
    if report["kind"] == "classifier":
        write_csv(out_dir / "summary.csv", report["rows"], CLASSIFIER_COLUMNS)
        names = report["class_names"]
        per_class = [{"variant": r["variant"], **dict(zip(names, r["class_accuracy"]))} for r in report["rows"]]
        write_csv(out_dir / "per_class.csv", per_class, ["variant", *names])
        files += ["per_class.csv", plot_per_class(report, out_dir)]
        md = classifier_markdown(report)
    else:
        write_csv(out_dir / "summary.csv", report["rows"], CODEC_COLUMNS)
        files.append(plot_codec(report, out_dir))
        md = codec_markdown(report)
    with atomic_open(out_dir / "report.md", "w") as f:
        f.write(md)
    return files + ["report.md"]


def _plt():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_per_class(report, out_dir):
    """Grouped bars: each class's test accuracy, one bar per variant."""
    import numpy as np

    plt = _plt()
    rows, names = report["rows"], report["class_names"]
    width = 0.8 / len(rows)
    fig, (top, bottom) = plt.subplots(2, 1, figsize=(max(8, 1.1 * len(names)), 8), sharex=True)
    x = np.arange(len(names))
    base = np.array(rows[0]["class_accuracy"])
    for i, r in enumerate(rows):
        acc = np.array(r["class_accuracy"])
        top.bar(x + (i - (len(rows) - 1) / 2) * width, 100 * acc, width, label=r["variant"])
        if i:
            bottom.bar(x + (i - (len(rows) - 1) / 2) * width, 100 * (acc - base), width,
                       label=r["variant"], color=f"C{i}")
    top.set_ylabel("class accuracy (%)")
    top.set_ylim(max(0, 100 * min(min(r["class_accuracy"]) for r in rows) - 10), 100)
    top.legend(ncol=4, fontsize=8)
    top.set_title(f"{report['arch']} on {report['dataset']} ({report['test_images']} test images): "
                  f"per-class accuracy per compression")
    bottom.axhline(0, color="black", linewidth=0.8)
    bottom.set_ylabel("change vs original (points)")
    bottom.set_xticks(x)
    bottom.set_xticklabels(names, rotation=30, ha="right")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "per_class.png", dpi=110)
    plt.close(fig)
    return "per_class.png"


def plot_codec(report, out_dir):
    plt = _plt()
    rows = report["rows"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, key, label in ((axes[0], "psnr", "PSNR (dB)"), (axes[1], "ssim", "SSIM")):
        for i, r in enumerate(rows):
            ax.scatter(r["decoder_bytes"] / 1e6, r[key], color=f"C{i}", label=r["variant"])
            ax.annotate(r["variant"], (r["decoder_bytes"] / 1e6, r[key]), fontsize=7,
                        xytext=(3, 3), textcoords="offset points")
        ax.set_xlabel("decoder bytes on disk (MB)")
        ax.set_ylabel(label)
        ax.grid(alpha=0.3)
    axes[0].set_title(f"{report['arch']} ({report['quant']}), {rows[0]['bytes_per_frame']:.0f} B/frame")
    axes[1].set_title(f"{report['frames']} test frames; rate unchanged (encoder float32)")
    fig.tight_layout()
    fig.savefig(Path(out_dir) / "decoder_rd.png", dpi=110)
    plt.close(fig)
    return "decoder_rd.png"


def _f(value, fmt):
    return "-" if value is None else format(value, fmt)


def classifier_markdown(report):
    rows = report["rows"]
    md = [f"# compress-model: {report['arch']} on {report['dataset']}", "",
          f"Source run: `{report['source']}`; {report['test_images']} test images; CIE boundary: "
          f"{report['boundary']} standard deviation (see learned_codec/model_compression/cie.py).", "",
          "## Table 3 shape: performance per compression (paper: VGG-19 on CIFAR-10 beside it)", "",
          "| variant | reached sparsity | top-1 | micro P | micro R | micro F1 | paper top-1 | paper P/R/F1 |",
          "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        p = PAPER_VGG19.get(r["variant"])
        md.append(f"| {r['variant']} | {_f(r['reached_sparsity'], '.4f')} | {100 * r['top1']:.2f} % | "
                  f"{r['micro_precision']:.4f} | {r['micro_recall']:.4f} | {r['micro_f1']:.4f} | "
                  f"{'-' if p is None else f'{p[0]:.2f} %'} | {'-' if p is None else p[1]} |")
    md += ["", "## Table 4 shape: impacted classes and images", "",
           "| variant | impacted classes | which | impacted images (exact) | class-accuracy std | "
           "paper classes | paper images |", "|---|---|---|---|---|---|---|"]
    for r in rows:
        p = PAPER_VGG19.get(r["variant"], (None,) * 6)
        md.append(f"| {r['variant']} | {_f(r['impacted_classes'], 'd')} | "
                  f"{', '.join(r['impacted_class_names'] or []) or '-'} | {_f(r['impacted_images'], 'd')} "
                  f"({_f(r['impacted_images_exact'], '.1f')}) | {100 * r['class_accuracy_std']:.2f} | "
                  f"{_f(p[4], 'd')} | {_f(p[5], 'd')} |")
    md += ["", "## Size and latency", "",
           "| variant | weights bytes | file bytes | ratio | ms / image |", "|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['variant']} | {r['weights_bytes']:,} | {r['model_file_bytes']:,} | "
                  f"{r['size_ratio']:.2f} | {r['ms_per_image']:.3f} |")
    lat = rows[0]["latency"]
    md += ["", f"Latency: median of {lat['repeats']} forward passes of a batch of {lat['batch']} images, "
               f"{lat['threads']} CPU threads, after 2 warm-up passes.", "",
           "![per-class accuracy](per_class.png)", ""]
    return "\n".join(md)


def codec_markdown(report):
    rows = report["rows"]
    md = [f"# compress-model: {report['arch']} decoder ({report['quant']} code)", "",
          f"Source: `{report['source']}`; decoder modules: {', '.join(report['decoder_modules'])}; "
          f"{report['frames']} test frames; pruned decoders fine-tuned on {report['finetune_frames']} "
          "training frames.", "",
          "| variant | reached sparsity | decoder bytes | ratio | B/frame | bpp | PSNR (dB) | dPSNR | SSIM | dSSIM | "
          "decoder ms/frame |", "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        md.append(f"| {r['variant']} | {_f(r['reached_sparsity'], '.4f')} | {r['decoder_bytes']:,} | "
                  f"{r['decoder_ratio']:.2f} | {r['bytes_per_frame']:.1f} | {r['bpp']:.4f} | {r['psnr']:.2f} | "
                  f"{r['delta_psnr']:+.2f} | {r['ssim']:.4f} | {r['delta_ssim']:+.4f} | "
                  f"{r['decoder_ms_per_frame']:.2f} |")
    lat = rows[0]["latency"]
    md += ["", f"Decoder latency: median of {lat['repeats']} `model.decode` calls on a batch of {lat['batch']} "
               f"codes, {lat['threads']} CPU threads, after 2 warm-up runs, on the model as loaded (BatchNorm "
               "not folded); `decode_fps` in summary.csv is the codec's whole decode of the test frames "
               "(container, dequantization and its BatchNorm-folded copy of the model). The rate (bytes per "
               "frame) does not change: only the decoder is compressed.", "", "![decoder RD](decoder_rd.png)", ""]
    return "\n".join(md)


__all__ = ["write_report", "PAPER_VGG19"]
