"""Print the markdown tables of README.md from the results.json files beside this script.

    python3 benchmarks/results/classify/tables.py
"""
import json
import math
from pathlib import Path

HERE = Path(__file__).resolve().parent


def load(name):
    path = HERE / name / "results.json"
    return json.loads(path.read_text()) if path.is_file() else None


def fmt_tta(v):
    return "never" if v is None else f"{v:.0f} s"


def fmt_psnr(v):
    return "inf" if v is None or (isinstance(v, float) and math.isinf(v)) else f"{v:.2f}"


def table_compressed(result, title):
    print(f"### {title}\n")
    print(f"target validation accuracy for TTA: {result['target_accuracy']}; sizes {result['sizes']}\n")
    print("| codec | quality | train-set bytes | bytes/image | PSNR dB | epochs | TTA | val acc | test acc |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    for r in result["rows"]:
        q = "" if r["quality"] is None else r["quality"]
        print(f"| {r['codec']} | {q} | {r['total_bytes']:,} | {r['bytes_per_image']:.1f} | {fmt_psnr(r.get('psnr_db'))} "
              f"| {r['epochs_run']} | {fmt_tta(r.get('tta_s'))} | {r['val_acc']:.4f} | {r['test_acc']:.4f} |")
    print()


def table_collapse(result):
    print("### Collapse study\n")
    print("| JPEG q | variant | distinct training images | final train acc | final train loss | test acc "
          "| share of the most predicted class |")
    print("| ---: | --- | ---: | ---: | ---: | ---: | ---: |")
    for r in result["rows"]:
        print(f"| {r['quality']} | {r['arm']} | {r['distinct_training_images']} | {r['final_train_acc']:.3f} "
              f"| {r['history'][-1]['train_loss']:.3f} | {r['test_acc']:.4f} | {r['majority_class_share']:.2f} |")
    print()


def table_multi(result):
    print("### Multi-quality topology\n")
    print("| seed | pretrained backbone test acc | single-input (block by block) | multi-quality (block by block) |")
    print("| ---: | ---: | ---: | ---: |")
    for s in result["seeds"]:
        print(f"| {s['seed']} | {s['pretrained_test_acc']:.4f} | {s.get('single', float('nan')):.4f} "
              f"| {s.get('multi', float('nan')):.4f} |")
    summ = result["summary"]
    print(f"| mean +- std | | {summ['single']['mean']:.4f} +- {summ['single']['std']:.4f} "
          f"| {summ['multi']['mean']:.4f} +- {summ['multi']['std']:.4f} |\n")
    print("| seed | arm | parameters | stages: epochs run (best val acc) | training s |")
    print("| ---: | --- | ---: | --- | ---: |")
    for r in result["rows"]:
        stages = ", ".join(f"{'+'.join(s['trainable'])} lr {s['lr']:g}: {s['epochs_run']} ({s['best_val_acc']:.3f})"
                           for s in r["stages"])
        print(f"| {r['seed']} | {r['arm']} | {r['parameters']:,} | {stages} | {r['train_time_s']:.0f} |")
    print()


if __name__ == "__main__":
    for name, title in (("train_compressed", "Experiment 1: train on compressed, test on originals"),
                        ("same_quality", "Experiment 2: train and test at the same JPEG quality")):
        result = load(name)
        if result:
            table_compressed(result, title)
    result = load("multi_quality")
    if result and result.get("summary", {}).get("multi"):
        table_multi(result)
    result = load("collapse")
    if result:
        table_collapse(result)
