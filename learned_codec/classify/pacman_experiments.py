"""What a model can still read from each codec's Pac-Man frames (classify codecs --dataset pacman).

    (1) train the task models on original training frames; test them on held-out frames
        decoded by every codec at several rates (bytes/frame are real files)
    (2) train and test on the same codec's frames (one rate per codec named in --same-codec)
    (3) per situation label and per sprite: the scores of (1) broken down (which situations a
        codec destroys first, which sprites it keeps)

Writes results.json, results.csv, report.md and plots (scores against bytes/frame) into
--out. Held-out frames: evenly spaced over the val and test splits (games the classifier and
the shipped autoencoders never trained on).

torch loads inside run(): the CLI reads this module's defaults to build its --help.
"""
import time
from pathlib import Path

import numpy as np

from data_tools.pacman.labels import SITUATIONS
from data_tools.pacman.tasks import SPRITES, concat_tasks, select
from learned_codec.errors import UserError
from learned_codec.fileio import atomic_write_bytes, check_writable_dir
from learned_codec.reporting import environment, write_csv, write_json

PACMAN_QUALITIES = {
    "jpeg": [10, 30, 60, 90], "jpeg420": [10, 30, 60, 90], "webp": [5, 25, 50, 90],
    "avif": [10, 30, 60], "h264": [40, 32, 24], "av1": [55, 45, 35],
}
PACMAN_BASELINES = tuple(PACMAN_QUALITIES)
PACMAN_LEARNED = ("conv5", "conv5:kmeans:k=16", "conv5:kmeans:k=4", "conv5:kmeans:k=2",
                  "hyperprior", "palette")
SCORES = (("situation_bacc", "situation labels: mean balanced accuracy", True),
          ("maze_acc", "maze: accuracy", True),
          ("position_err_px", "sprite positions: mean error (px)", False))
KEEP = 0.99


def held_out(root, count):
    from data_tools.frames import evenly_spaced
    from learned_codec.classify.pacman_task import load_task_split

    parts = [load_task_split(root, s) for s in ("val", "test")]
    parts = [p for p in parts if len(p[0])]
    if not parts:
        raise UserError(f"{root} has no val or test frames to test on")
    frames = np.concatenate([np.asarray(f) for f, _ in parts])
    tasks = concat_tasks([t for _, t in parts])
    idx = evenly_spaced(len(frames), count)
    return frames[idx], select(tasks, idx)


def codec_points(baselines, learned, qualities=None):
    from learned_codec.codecs.baselines import make_baselines
    from learned_codec.codecs.registry import load_codecs

    codecs, missing = make_baselines(list(baselines), {**PACMAN_QUALITIES, **(qualities or {})})
    return codecs + load_codecs(list(learned)), missing


def _row(kind, codec, setting, bytes_per_frame, psnr, arch, scores, train):
    row = {"experiment": kind, "codec": codec, "setting": setting, "bytes_per_frame": bytes_per_frame,
           "psnr": psnr, "arch": arch, "train_on": train}
    row.update({k: scores[k] for k, _, _ in SCORES})
    row.update({f"bacc:{k}": v for k, v in scores["per_label_bacc"].items()})
    row.update({f"err:{k}": v for k, v in scores["per_sprite_err_px"].items()})
    return row


def run(root, out, archs=("notebook-cnn",), baselines=PACMAN_BASELINES, learned=PACMAN_LEARNED,
        same_codec=(), train_size=3000, eval_size=500, epochs=3, batch_size=32, seed=0,
        progress=True, max_steps=None):
    """The three experiments; returns the result dict (also written to out)."""
    from data_tools import frames as F
    from learned_codec.classify.pacman_task import load_task_split, predict_tasks, task_scores, train_task_model
    from learned_codec.eval.harness import round_trip
    from learned_codec.eval.metrics import psnr_per_frame

    out = check_writable_dir(out)
    start = time.perf_counter()
    train_frames, train_tasks = load_task_split(root, "train")
    idx = F.evenly_spaced(len(train_frames), train_size)
    train_frames, train_tasks = np.asarray(train_frames[idx]), select(train_tasks, idx)
    test_frames, test_tasks = held_out(root, eval_size)
    codecs, missing = codec_points(baselines, learned)
    def say(line):  # one line per step, bars or not: readable in a log
        print(line, flush=True)

    budget = dict(epochs=epochs, batch_size=batch_size, seed=seed, progress=progress, max_steps=max_steps)

    models, rows, runs = {}, [], {}
    for arch in archs:
        models[arch], runs[arch] = train_task_model(train_frames, train_tasks, arch=arch, **budget)
        s = task_scores(predict_tasks(models[arch], runs[arch], test_frames), test_tasks)
        rows.append(_row("1", "original", "", None, None, arch, s, "original"))
        say(f"[{time.perf_counter() - start:.0f}s] {arch} on originals: {_short(s)}")
    decoded = {}
    for i, codec in enumerate(codecs):
        try:
            nbytes, frames, _, _ = round_trip(codec, test_frames)
        except Exception as e:  # one broken codec must not hide the others
            missing.append({"codec": codec.name, "setting": codec.setting, "reason": f"{type(e).__name__}: {e}"})
            continue
        key = codec.label
        decoded[key] = frames
        bpf, p = nbytes / len(frames), float(np.mean(np.minimum(psnr_per_frame(test_frames, frames), 99)))
        for arch in archs:
            s = task_scores(predict_tasks(models[arch], runs[arch], frames), test_tasks)
            rows.append(_row("1", codec.name, codec.setting, bpf, p, arch, s, "original"))
        say(f"[{time.perf_counter() - start:.0f}s] {i + 1}/{len(codecs)} {key}: {bpf:.0f} B/frame, "
            f"{p:.1f} dB, {_short(s)}")
    for spec in same_codec:
        codec, key = _find(codecs, spec)
        if key not in decoded:
            raise UserError(f"--same-codec {spec}: that codec point was not measured")
        _, coded_train, _, _ = round_trip(codec, train_frames)
        model, run2 = train_task_model(coded_train, train_tasks, arch=archs[0], **budget)
        s = task_scores(predict_tasks(model, run2, decoded[key]), test_tasks)
        ref = next(r for r in rows if r["codec"] == codec.name and r["setting"] == codec.setting)
        rows.append(_row("2", codec.name, codec.setting, ref["bytes_per_frame"], ref["psnr"], archs[0], s, key))
        say(f"[{time.perf_counter() - start:.0f}s] trained on {key}: {_short(s)}")

    result = {"data": str(root), "train_frames": len(train_frames), "eval_frames": len(test_frames),
              "budget": {k: v for k, v in budget.items() if k != "progress"}, "runs": runs,
              "rows": rows, "missing": missing, "keep_99": keep_table(rows, archs),
              "wall_s": time.perf_counter() - start, "environment": environment(),
              "weights": _weights(codecs), "frame_source": F.DEFAULT_DIR.name}
    write_outputs(out, result, archs)
    return result


def _find(codecs, spec):
    for c in codecs:
        key = c.label
        if spec in (key, f"{c.name}:{c.setting}"):
            return c, key
    raise UserError(f"--same-codec {spec!r} names no measured codec point; "
                    f"choose from: {', '.join(f'{c.name}:{c.setting}' for c in codecs)}")


def _weights(codecs):
    return {c.label: getattr(c, "weights_sha256", None)
            for c in codecs if getattr(c, "weights_sha256", None)}


def _short(s):
    err = s["position_err_px"]
    sb = s["situation_bacc"]
    return (f"situations {sb:.3f}" if sb is not None else "situations n/a") + \
        f", maze {s['maze_acc']:.3f}, positions " + (f"{err:.1f} px" if err is not None else "n/a")


def keep_table(rows, archs):
    """Per arch, codec and score: the fewest bytes/frame at which the score is still >= 99 %
    of the original's (errors: <= original / 0.99), or None where no point does."""
    table = {}
    for arch in archs:
        orig = next(r for r in rows if r["codec"] == "original" and r["arch"] == arch)
        for r in rows:
            if r["experiment"] != "1" or r["codec"] == "original" or r["arch"] != arch:
                continue
            entry = table.setdefault(arch, {}).setdefault(r["codec"], {})
            for key, _, higher in SCORES:
                if orig[key] is None or r[key] is None:
                    continue
                ok = r[key] >= KEEP * orig[key] if higher else r[key] <= orig[key] / KEEP
                if ok and (entry.get(key) is None or r["bytes_per_frame"] < entry[key]):
                    entry[key] = r["bytes_per_frame"]
                entry.setdefault(key, None)
    return table


def write_outputs(out, result, archs):
    rows = result["rows"]
    columns = ["experiment", "arch", "train_on", "codec", "setting", "bytes_per_frame", "psnr"] + \
        [k for k, _, _ in SCORES] + [f"bacc:{n}" for n in SITUATIONS] + [f"err:{n}" for n in SPRITES]
    write_csv(Path(out) / "results.csv", rows, columns, float_format=".4f")
    write_json(Path(out) / "results.json", result)
    plots = plot_scores(rows, out, archs)
    atomic_write_bytes(Path(out) / "report.md", markdown(result, archs, plots).encode())


def plot_scores(rows, out, archs):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from learned_codec.eval.plots import codec_styles
    from learned_codec.fileio import atomic_open

    names = sorted({r["codec"] for r in rows if r["codec"] != "original"})
    styles = codec_styles(names)
    paths = []
    for arch in archs:
        fig, axes = plt.subplots(1, 3, figsize=(16, 4.8), dpi=100)
        orig = next(r for r in rows if r["codec"] == "original" and r["arch"] == arch)
        for ax, (key, title, _) in zip(axes, SCORES):
            for name in names:
                pts = sorted((r for r in rows if r["codec"] == name and r["arch"] == arch
                              and r["experiment"] == "1" and r[key] is not None),
                             key=lambda r: r["bytes_per_frame"])
                if pts:
                    c, m, ls = styles[name]
                    ax.plot([p["bytes_per_frame"] for p in pts], [p[key] for p in pts], color=c, marker=m,
                            ls=ls, label=name)
            if orig[key] is not None:
                ax.axhline(orig[key], color="grey", ls=":", label="original frames")
            ax.set_xscale("log")
            ax.set_xlabel("bytes per frame (real files)")
            ax.set_title(title, fontsize=10)
            ax.grid(True, which="both", alpha=0.3)
        axes[-1].legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.02, 1.0), borderaxespad=0)
        fig.suptitle(f"{arch} trained on original frames, tested on each codec's decoded frames")
        fig.tight_layout()
        name = f"scores_{arch}.png"
        with atomic_open(Path(out) / name, "wb") as f:
            fig.savefig(f, format="png", bbox_inches="tight")
        plt.close(fig)
        paths.append(name)
    return paths


def _fmt(v, spec="{:.3f}"):
    return "—" if v is None else spec.format(v)


def markdown(result, archs, plots):
    rows = result["rows"]
    lines = ["# Pac-Man downstream task on decoded frames", "",
             f"Trained on {result['train_frames']} original training frames "
             f"({result['budget']['epochs']} epochs, batch {result['budget']['batch_size']}, "
             f"seed {result['budget']['seed']}; CPU budget), tested on {result['eval_frames']} "
             f"held-out frames (val + test games) decoded by each codec. Run time "
             f"{result['wall_s']:.0f} s on {result['environment'].get('cpu', '?')}.", "",
             "Scores: situation labels = mean balanced accuracy over the labels present in the "
             "held-out frames (0.5 = chance); maze = 4-way accuracy; positions = mean error in "
             "pixels of Ms. Pac-Man and the four ghosts where on screen.", ""]
    for arch in archs:
        lines += [f"## {arch}: rate at which each codec keeps 99 % of the original's score", "",
                  "| codec | situations | maze | positions |", "|---|---:|---:|---:|"]
        for codec, entry in sorted(result["keep_99"].get(arch, {}).items()):
            cells = [_fmt(entry.get(k), "{:,.0f} B") if entry.get(k) is not None else "not reached"
                     for k, _, _ in SCORES]
            lines.append(f"| {codec} | " + " | ".join(cells) + " |")
        lines += ["", f"![{arch}]({plots[archs.index(arch)]})", ""]
    lines += ["## Every point (experiment 1: trained on originals; 2: trained on the same codec)", "",
              "| exp | arch | codec | setting | B/frame | PSNR | situations | maze | positions px |",
              "|---|---|---|---|---:|---:|---:|---:|---:|"]
    for r in rows:
        lines.append(f"| {r['experiment']} | {r['arch']} | {r['codec']} | {r['setting']} | "
                     f"{_fmt(r['bytes_per_frame'], '{:,.0f}')} | {_fmt(r['psnr'], '{:.2f}')} | "
                     f"{_fmt(r['situation_bacc'])} | {_fmt(r['maze_acc'])} | {_fmt(r['position_err_px'], '{:.2f}')} |")
    lines += ["", "## Per situation label and per sprite (experiment 1, " + archs[0] + ")", "",
              "Balanced accuracy per label, position error per sprite (px), at each codec's lowest and "
              "highest measured rate.", ""]
    labels = [n for n in SITUATIONS if any(r.get(f"bacc:{n}") is not None for r in rows)]
    head = labels + [f"err {s}" for s in SPRITES]
    lines += ["| codec | setting | " + " | ".join(head) + " |", "|---|---|" + "---:|" * len(head)]
    pts = [r for r in rows if r["experiment"] == "1" and r["arch"] == archs[0]]
    for name in dict.fromkeys(r["codec"] for r in pts):
        group = [r for r in pts if r["codec"] == name]
        ends = [group[0]] if name == "original" else sorted(
            {id(r): r for r in (min(group, key=_rate), max(group, key=_rate))}.values(), key=_rate)
        for r in ends:
            cells = [_fmt(r.get(f"bacc:{n}"), "{:.2f}") for n in labels] + \
                    [_fmt(r.get(f"err:{s}"), "{:.1f}") for s in SPRITES]
            lines.append(f"| {name} | {r['setting']} | " + " | ".join(cells) + " |")
    if result["missing"]:
        lines += ["", "Not measured: " + "; ".join(f"{m['codec']} {m['setting']} ({m['reason']})"
                                                   for m in result["missing"])]
    if result["weights"]:
        lines += ["", "Learned codecs' weights (SHA-256 of the safetensors): " +
                  "; ".join(f"{k}: {v[:12]}" for k, v in result["weights"].items())]
    return "\n".join(lines) + "\n"


def _rate(r):
    return r["bytes_per_frame"] or 0.0
