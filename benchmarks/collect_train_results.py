"""Collect test-split PSNR/SSIM of trained runs beside the reference report's table.

    python benchmarks/collect_train_results.py RUNS_DIR OUT_PREFIX

Reads RUNS_DIR/<arch>-<quant>/{config.json,test_metrics.json,metrics.jsonl} and writes
OUT_PREFIX.json and OUT_PREFIX.md. A run without test_metrics.json keeps its row from an
existing OUT_PREFIX.json (a result made earlier, in another session or on another machine:
its `run` and `weights_sha256` say which), else it is listed as missing.
"""
import json
import sys
from pathlib import Path

from learned_codec.eval.report import REFERENCE_ROWS

ARCHS = ["fc", "fc-deep", "conv4", "conv5", "vae"]
QUANTS = ["none", "naive", "affine"]


def reference_for(arch, quant, code_entries):
    for typ, q, epochs, size, code, printed, psnr, ssim, key in REFERENCE_ROWS:
        if key == (arch, quant, code_entries):
            return {"epochs": epochs, "psnr": float(psnr), "ssim": float(ssim), "row": f"{typ}, {q}, {code}"}
    return None


def code_entries(config):
    from learned_codec.models import build_model

    model = build_model(config["model"]).eval()
    import torch

    h, w = config["model"].get("frame_size", (200, 160))
    with torch.no_grad():
        return int(model.encode(torch.zeros(1, 3, h, w)).numel())


def collect(runs_dir):
    rows = []
    for arch in ARCHS:
        for quant in QUANTS:
            run = Path(runs_dir) / f"{arch}-{quant}"
            row = {"arch": arch, "quant": quant, "run": str(run)}
            test = run / "test_metrics.json"
            if not test.is_file():
                rows.append({**row, "status": "missing"})
                continue
            config = json.loads((run / "config.json").read_text())
            metrics = json.loads(test.read_text())
            epochs = [json.loads(l) for l in (run / "metrics.jsonl").read_text().splitlines() if l.strip()]
            entries = code_entries(config)
            row.update(status="ok", test_psnr=metrics["test_psnr"], test_ssim=metrics["test_ssim"],
                       test_frames=metrics["test_frames"], epochs=len(epochs),
                       train_seconds=epochs[-1].get("seconds") if epochs else None,
                       code_entries=entries, blocks=config["model"].get("blocks"),
                       weights_sha256=metrics["weights_sha256"],
                       reference=reference_for(arch, quant, entries))
            rows.append(row)
    return rows


def markdown(rows):
    lines = ["| arch | quant | code entries | epochs (ours) | train s | test PSNR dB | test SSIM "
             "| reference row | ref epochs | ref PSNR | ref SSIM |", "|" + "---|" * 11]
    for r in rows:
        if r["status"] != "ok":
            lines.append(f"| {r['arch']} | {r['quant']} | | | | not trained | | | | | |")
            continue
        ref = r["reference"] or {}
        lines.append("| " + " | ".join(str(v) for v in [
            r["arch"] + (" (shared block)" if r.get("blocks") == "shared" else ""), r["quant"],
            r["code_entries"], r["epochs"], r["train_seconds"], f"{r['test_psnr']:.2f}",
            f"{r['test_ssim']:.4f}", ref.get("row", "no reference row"), ref.get("epochs", ""),
            ref.get("psnr", ""), ref.get("ssim", "")]) + " |")
    return "\n".join(lines)


def main(runs_dir, out_prefix):
    rows = collect(runs_dir)
    out = Path(out_prefix)
    previous = out.with_suffix(".json")
    if previous.is_file():
        kept = {(r["arch"], r["quant"]): r for r in json.loads(previous.read_text()) if r.get("status") == "ok"}
        rows = [kept.get((r["arch"], r["quant"]), r) if r["status"] == "missing" else r for r in rows]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".json").write_text(json.dumps(rows, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown(rows) + "\n")
    print(markdown(rows))


if __name__ == "__main__":
    main(*sys.argv[1:3])
