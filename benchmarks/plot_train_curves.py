"""Learning curves (val PSNR against wall-clock seconds and frames seen) of training runs.

    python benchmarks/plot_train_curves.py --out benchmarks/results/train_cpu \
        old=runs/compare/conv5-old new=runs/compare/conv5-new cpu-long=runs/cpu-long/conv5

Reads each RUN/metrics.jsonl (+ config.json for the batch size when a row lacks
frames_seen); writes OUT/curves_seconds.png, OUT/curves_frames.png and OUT/curves.json
(the plotted points, so the figures can be checked without the runs).
"""
import argparse
import json
from pathlib import Path


def load(run):
    run = Path(run)
    rows = [json.loads(x) for x in (run / "metrics.jsonl").read_text().splitlines() if x.strip()]
    bs = json.loads((run / "config.json").read_text())["train"]["batch_size"]
    pts = []
    for r in rows:
        pts.append({"epoch": r["epoch"], "seconds": r["seconds"], "frames": r.get("frames_seen", r["step"] * bs),
                    "val_psnr": r["val_psnr"], "val_ssim": r.get("val_ssim"), "lr": r.get("lr"),
                    "crop": r.get("crop")})
    return pts


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", required=True)
    ap.add_argument("--reference", type=float, default=None,
                    help="the reference report's PSNR for this row: drawn as a dashed line")
    ap.add_argument("runs", nargs="+", help="LABEL=RUN_DIR")
    a = ap.parse_args(argv)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    curves = {}
    for item in a.runs:
        label, run = item.split("=", 1)
        if (Path(run) / "metrics.jsonl").is_file():
            curves[label] = {"run": run, "points": load(run)}
    first = json.loads((Path(next(iter(curves.values()))["run"]) / "config.json").read_text()) if curves else {}
    title = f"{first.get('arch', '?')}, {first.get('quant', '?')} quantization, Ms. Pac-Man val split"
    for key, xlabel, scale in (("seconds", "wall-clock training minutes (1 CPU thread)", 60.0),
                               ("frames", "training frames seen (a crop counts as a frame)", 1.0)):
        fig, ax = plt.subplots(figsize=(7, 4.5))
        for label, c in curves.items():
            xs = [p[key] / scale for p in c["points"]]
            ax.plot(xs, [p["val_psnr"] for p in c["points"]], marker=".", label=label)
        ax.set_xlabel(xlabel)
        if a.reference is not None:
            ax.axhline(a.reference, ls="--", color="grey", label=f"reference report: {a.reference:g} dB (test)")
        ax.set_ylabel("validation PSNR (dB, through the code's quantizer)")
        ax.set_title(title)
        ax.grid(alpha=0.3)
        ax.legend()
        fig.tight_layout()
        fig.savefig(out / f"curves_{key}.png", dpi=110)
        plt.close(fig)
    (out / "curves.json").write_text(json.dumps(curves, indent=1, sort_keys=True))
    print(json.dumps({k: (v["points"][-1] if v["points"] else None) for k, v in curves.items()}, indent=1))


if __name__ == "__main__":
    main()
