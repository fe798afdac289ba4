"""The classify experiments and their command-line parsers.

    datasets          compressed data sets of the training subset: bytes, bpp, PSNR per codec/quality
    train-compressed  experiment 1: train on compressed (Pillow JPEG / WebP, real bytes), validate
                      and test on originals; accuracy, bytes, time to a target validation accuracy
    same-quality      experiment 2: train, validate and test at the same JPEG quality (jpeg_simulate)
    multi-quality     experiment 3: original + QF 10..100 through one shared backbone vs the
                      single-input backbone, both trained block by block from the same pretrained
                      backbone on the same data, several seeds, mean +- std
    collapse          the notebook's below-quality-50 collapse: its code as written vs fixed

Each writes OUT/results.json (everything, with histories), OUT/results.csv (one row per run)
and PNG plots. This module imports nothing heavy at load time (the CLI builds parsers from it).
"""
import time

from ..errors import UserError

NOTEBOOK_JPEG_QUALITIES = [95, 90, 80, 70, 50, 30, 20, 10]
NOTEBOOK_WEBP_QUALITIES = [1, 10, 20, 30, 50, 70, 80, 90, 100]
SAME_QUALITIES = [1, 5, 10, 15, 20, 25, 50, 75, 100]
BRANCH_QUALITIES = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]

CSV_FIELDS = ["experiment", "codec", "quality", "seed", "arm", "total_bytes", "bytes_per_image", "bpp", "psnr_db",
              "epochs_run", "train_time_s", "tta_s", "val_acc", "test_acc", "majority_class_share"]


def int_list(text):
    """argparse type: "10,20,30" -> [10, 20, 30]."""
    import argparse

    try:
        values = [int(v) for v in str(text).split(",") if v.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a comma-separated list of integers, got {text!r}") from None
    if not values:
        raise argparse.ArgumentTypeError("expected at least one integer")
    return values


# ------------------------------------------------------------------------------------ parsers
def add_experiment_parsers(sub, add_data_arguments, add_train_arguments):
    p = sub.add_parser("datasets", help="make the compressed data sets and record their bytes")
    add_data_arguments(p, train_size=2000)
    p.add_argument("--jpeg-qualities", type=int_list, default=NOTEBOOK_JPEG_QUALITIES, metavar="Q,Q,...")
    p.add_argument("--webp-qualities", type=int_list, default=NOTEBOOK_WEBP_QUALITIES, metavar="Q,Q,...")
    p.add_argument("--sim-qualities", type=int_list, default=SAME_QUALITIES, metavar="Q,Q,...",
                   help="qualities made by the native jpeg_simulate (bytes: Pillow's file sizes)")
    p.add_argument("--learned", action="append", default=[], metavar="RUN_DIR",
                   help="also code the images with this learned codec (a run folder or shipped name)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--quiet", action="store_true")
    p.add_argument("--out", required=True, metavar="DIR")

    p = sub.add_parser("train-compressed", help="experiment 1: train on compressed, test on originals")
    add_data_arguments(p, train_size=2000, val_size=500, test_size=2000)
    add_train_arguments(p, epochs=3)
    p.add_argument("--codecs", default="jpeg,webp", help="comma-separated: jpeg, webp (default: both)")
    p.add_argument("--jpeg-qualities", type=int_list, default=NOTEBOOK_JPEG_QUALITIES, metavar="Q,Q,...")
    p.add_argument("--webp-qualities", type=int_list, default=NOTEBOOK_WEBP_QUALITIES, metavar="Q,Q,...")
    p.add_argument("--learned", action="append", default=[], metavar="RUN_DIR",
                   help="also train on images coded by this learned codec")
    p.add_argument("--target-accuracy", type=float, default=0.8,
                   help="validation accuracy for time-to-accuracy (default: 0.8)")
    p.add_argument("--skip-original", action="store_true",
                   help="leave out the reference run on the original images (e.g. when only adding --learned)")
    p.add_argument("--out", required=True, metavar="DIR")

    p = sub.add_parser("same-quality", help="experiment 2: train and test at the same JPEG quality")
    add_data_arguments(p, train_size=2000, val_size=500, test_size=2000)
    add_train_arguments(p, epochs=3)
    p.add_argument("--qualities", type=int_list, default=SAME_QUALITIES, metavar="Q,Q,...")
    p.add_argument("--target-accuracy", type=float, default=0.8)
    p.add_argument("--out", required=True, metavar="DIR")

    p = sub.add_parser("multi-quality", help="experiment 3: the multi-quality topology vs the single input")
    add_data_arguments(p, train_size=1000, val_size=300, test_size=1000)
    add_train_arguments(p, epochs=3)
    p.add_argument("--seeds", type=int_list, default=[0, 1, 2], metavar="S,S,...")
    p.add_argument("--branch-qualities", type=int_list, default=BRANCH_QUALITIES, metavar="Q,Q,...",
                   help="JPEG qualities of the branches beside the original (default: 10,20,...,100)")
    p.add_argument("--stages", type=int, default=4, help="head + this many minus one blocks (default: 4 = all)")
    p.add_argument("--head-lr", type=float, default=0.01, help="learning rate of the head stage (default: 0.01)")
    p.add_argument("--stage-epochs", type=int, default=5, help="most epochs per stage (default: 5)")
    p.add_argument("--patience", type=int, default=1, help="plateau: epochs without a better val loss (default: 1)")
    p.add_argument("--out", required=True, metavar="DIR")

    p = sub.add_parser("plot", help="redraw the plots of a results folder, optionally for another TTA target")
    p.add_argument("results", metavar="DIR", help="a folder written by train-compressed or same-quality")
    p.add_argument("--target-accuracy", type=float, help="recompute time to this validation accuracy")
    p.add_argument("--merge", action="append", default=[], metavar="DIR",
                   help="append the rows of another results folder of the same experiment first")

    p = sub.add_parser("collapse", help="the notebook's collapse below quality 50: as written vs fixed")
    add_data_arguments(p, train_size=2000, val_size=500, test_size=2000)
    add_train_arguments(p, epochs=3)
    p.add_argument("--qualities", type=int_list, default=[10, 30, 50, 70, 90], metavar="Q,Q,...")
    p.add_argument("--variants", default="notebook,raw-inputs,fixed",
                   help="notebook (its read-back + no normalisation), raw-inputs (correct read-back, "
                        "no normalisation), fixed (correct read-back, z-score); comma-separated")
    p.add_argument("--out", required=True, metavar="DIR")


def run_experiment(args):
    from ..fileio import check_writable_dir

    if args.action == "plot":
        return run_plot(args)
    check_writable_dir(args.out)
    runner = {"datasets": run_datasets, "train-compressed": run_train_compressed, "same-quality": run_same_quality,
              "multi-quality": run_multi_quality, "collapse": run_collapse}[args.action]
    return runner(args)


# ------------------------------------------------------------------------------------ helpers
def _splits(args):
    from ..commands.classify import source_options
    from .pipeline import load_splits

    return load_splits(args.dataset, args.train_size, args.val_size, args.test_size, args.seed,
                       **source_options(args))


def _progress(args):
    return not getattr(args, "quiet", False)


def _write(out, name, payload, rows):
    import csv
    from pathlib import Path

    from ..fileio import atomic_open, atomic_write_json

    out = Path(out)
    atomic_write_json(out / "results.json", {"experiment": name, **payload, "rows": rows})
    with atomic_open(out / "results.csv", "w") as f:
        w = csv.DictWriter(f, fieldnames=CSV_FIELDS, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        for row in rows:
            w.writerow({k: _fmt(row.get(k)) for k in CSV_FIELDS})


def _fmt(v):
    if isinstance(v, float):
        return f"{v:.6g}"
    return "" if v is None else v


def _majority_share(counts):
    total = sum(counts)
    return max(counts) / total if total else 0.0


def _result_row(experiment, codec, quality, summary, metrics, **extra):
    row = {"experiment": experiment, "codec": codec, "quality": quality, **(summary or {}), **extra}
    row.update({k: metrics.get(k) for k in ("epochs_run", "train_time_s", "tta_s", "val_acc", "test_acc",
                                            "per_class_test_acc", "predicted_class_counts", "history")})
    row["majority_class_share"] = _majority_share(metrics["predicted_class_counts"])
    row["codec"], row["quality"] = codec, quality
    return row


def _raw_summary(images):
    n, h, w, c = images.shape
    return {"total_bytes": int(images.nbytes), "bytes_per_image": float(h * w * c), "bpp": 8.0 * c,
            "psnr_db": float("inf")}


def _payload(args, splits, **more):
    from .pipeline import train_options

    return {"dataset": splits.dataset, "class_names": splits.class_names, "sizes": splits.sizes,
            "train": train_options(args) if hasattr(args, "epochs") else None, **more}


def _learned_codecs(specs):
    """Learned codecs from 'RUN_DIR_OR_NAME[:QUANT]' specs (see learned_codec.codec.parse_codec_spec);
    each image becomes its own file (header included), so its bytes are a real file's."""
    from ..codec import load_codecs

    codecs = load_codecs(specs)
    for spec, codec in zip(specs, codecs):
        codec.setting = spec
    return codecs


# ------------------------------------------------------------------------------------ datasets
def run_datasets(args):
    from . import compressed, plots

    splits = _splits(args)
    x = splits.train_x
    rows = [{"experiment": "datasets", "codec": "original", "quality": None, **_raw_summary(x)}]
    for q in args.jpeg_qualities:
        rows.append({"experiment": "datasets", **compressed.pillow_set(x, "jpeg", q, _progress(args)).summary(x)})
    for q in args.webp_qualities:
        rows.append({"experiment": "datasets", **compressed.pillow_set(x, "webp", q, _progress(args)).summary(x)})
    sim = compressed.simulated_jpeg_sets(x, args.sim_qualities)
    for q, s in sim.items():
        rows.append({"experiment": "datasets", **s.summary(x)})
    for codec in _learned_codecs(args.learned):
        rows.append({"experiment": "datasets", **compressed.learned_set(x, codec, progress=_progress(args)).summary(x)})
    payload = _payload(args, splits, note="bytes: one standalone file per image; original: raw uint8 size")
    _write(args.out, "datasets", payload, rows)
    plots.plot_dataset_bytes(rows, f"{args.out}/bytes.png")
    for r in rows:
        print(f"{r['codec']:>9} q={str(r['quality']):>4}: {r['total_bytes']:>9} bytes "
              f"({r['bytes_per_image']:.1f} per image, {r['bpp']:.2f} bpp, PSNR {r['psnr_db']:.2f} dB)")
    return 0


# ------------------------------------------------------------------------------------ experiment 1
def run_train_compressed(args):
    from . import compressed, plots
    from .pipeline import fit_and_test, model_options, train_options

    splits = _splits(args)
    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]
    for c in codecs:
        if c not in compressed.PILLOW_CODECS + ("none",):
            raise UserError(f"unknown codec {c!r} for --codecs; choose from {', '.join(compressed.PILLOW_CODECS)}")
    codecs = [] if codecs == ["none"] else codecs
    jobs = [] if args.skip_original else [("original", None, None)]
    for c in codecs:
        qualities = args.jpeg_qualities if c == "jpeg" else args.webp_qualities
        jobs += [(c, compressed.check_quality(q, c), None) for q in qualities]
    jobs += [(None, None, codec) for codec in _learned_codecs(args.learned)]
    train, rows = train_options(args), []
    for codec, q, learned in jobs:
        if learned is not None:
            cset = compressed.learned_set(splits.train_x, learned, progress=_progress(args))
            codec, q, summary = cset.codec, cset.quality, cset.summary(splits.train_x)
        elif codec == "original":
            cset, summary = None, _raw_summary(splits.train_x)
        else:
            cset = compressed.pillow_set(splits.train_x, codec, q, _progress(args))
            summary = cset.summary(splits.train_x)
        train_x = splits.train_x if cset is None else cset.images
        _, _, metrics = fit_and_test(splits, train_x, splits.val_x, splits.test_x, arch=args.arch, train=train,
                                     model_options=model_options(args), target_accuracy=args.target_accuracy, device=args.device,
                                     progress=_progress(args), desc=f"{codec} q={q}")
        rows.append(_result_row("train-compressed", codec, q, summary, metrics))
        _print_row(rows[-1])
        _write(args.out, "train-compressed", _payload(args, splits, target_accuracy=args.target_accuracy,
                                                      test_on="originals", val_on="originals"), rows)
    plots.plot_experiment(rows, args.out, splits.class_names, target=args.target_accuracy)
    return 0


def run_plot(args):
    """Redraw a results folder's plots (and CSV), with TTA recomputed for --target-accuracy."""
    import json
    from pathlib import Path

    from . import plots
    from .train import time_to_accuracy

    folders = [Path(args.results)] + [Path(m) for m in args.merge]
    results = []
    for folder in folders:
        path = folder / "results.json"
        if not path.is_file():
            raise UserError(f"{folder} has no results.json")
        results.append(json.loads(path.read_text()))
    result = results[0]
    if result.get("experiment") not in ("train-compressed", "same-quality"):
        raise UserError(f"{args.results} holds {result.get('experiment')!r} results; plot redraws "
                        f"train-compressed and same-quality folders")
    rows = [r for res in results for r in res["rows"]]
    target = result.get("target_accuracy")
    if args.target_accuracy is not None:
        target = args.target_accuracy
        for r in rows:
            r["tta_s"] = time_to_accuracy(r["history"], target) if r.get("history") else None
    payload = {k: v for k, v in result.items() if k not in ("rows", "experiment")}
    payload["target_accuracy"] = target
    if args.merge:
        payload["merged_from"] = [str(f) for f in folders]
    _write(args.results, result["experiment"], payload, rows)
    plots.plot_experiment(rows, args.results, result["class_names"], target=target)
    for r in rows:
        _print_row(r)
    return 0


def _print_row(r):
    tta = "never" if r.get("tta_s") is None else f"{r['tta_s']:.1f}s"
    print(f"{r['codec']:>9} q={str(r['quality']):>4}: {r['total_bytes']:>9} bytes, test acc {r['test_acc']:.4f}, "
          f"val acc {r['val_acc']:.4f}, TTA {tta}", flush=True)


# ------------------------------------------------------------------------------------ experiment 2
def run_same_quality(args):
    from . import compressed, plots
    from .pipeline import fit_and_test, model_options, train_options

    splits = _splits(args)
    qualities = [compressed.check_quality(q, "jpeg") for q in args.qualities]
    train_sets = compressed.simulated_jpeg_sets(splits.train_x, qualities)
    val_sets = compressed.simulate_jpeg(splits.val_x, qualities)
    test_sets = compressed.simulate_jpeg(splits.test_x, qualities)
    train, rows = train_options(args), []
    jobs = [("original", None)] + [("jpeg-sim", q) for q in qualities]
    for codec, q in jobs:
        if q is None:
            tx, vx, sx, summary = splits.train_x, splits.val_x, splits.test_x, _raw_summary(splits.train_x)
        else:
            tx, vx, sx = train_sets[q].images, val_sets[q], test_sets[q]
            summary = train_sets[q].summary(splits.train_x)
        _, _, metrics = fit_and_test(splits, tx, vx, sx, arch=args.arch, train=train,
                                     model_options=model_options(args), target_accuracy=args.target_accuracy, device=args.device,
                                     progress=_progress(args), desc=f"same q={q}")
        rows.append(_result_row("same-quality", codec, q, summary, metrics))
        _print_row(rows[-1])
        _write(args.out, "same-quality", _payload(args, splits, target_accuracy=args.target_accuracy,
                                                  test_on="the same quality", val_on="the same quality"), rows)
    plots.plot_experiment(rows, args.out, splits.class_names, target=args.target_accuracy)
    return 0


# ------------------------------------------------------------------------------------ experiment 3
def multi_quality_inputs(images, data, qualities):
    """uint8 N x H x W x C -> float N x (1 + len(qualities)) x C x S x S: original, then each quality."""
    import numpy as np

    from .compressed import simulate_jpeg
    from .data import to_model_input

    sim = simulate_jpeg(images, qualities)
    stacked = np.stack([images] + [sim[q] for q in qualities], axis=1)
    return to_model_input(stacked, data)


def run_multi_quality(args):
    import copy

    import numpy as np
    import torch

    from . import plots
    from .blockwise import train_block_by_block
    from .data import data_config, to_model_input
    from .model import MultiQualityClassifier, build_classifier, default_model_config
    from .pipeline import model_options, train_options
    from .train import per_class_accuracy, predict, resolve_device, train_classifier

    if not args.seeds:
        raise UserError("--seeds needs at least one seed")
    if args.arch != "notebook-cnn":
        raise UserError("the multi-quality topology is built on --arch notebook-cnn")
    qualities = args.branch_qualities
    splits = _splits(args)
    device = resolve_device(args.device)
    data = data_config(splits.dataset, splits.class_names, splits.train_x)  # stats of the originals
    single = {k: to_model_input(getattr(splits, k), data) for k in ("train_x", "val_x", "test_x")}
    multi = {k: multi_quality_inputs(getattr(splits, k), data, qualities) for k in ("train_x", "val_x", "test_x")}
    n_classes = len(splits.class_names)
    train, rows, seeds_log = train_options(args), [], []
    for seed in args.seeds:
        # The shared starting point: a backbone trained on the originals (the thesis started
        # from a pretrained model); both arms start from a copy of it.
        torch.manual_seed(seed)
        backbone = build_classifier({**default_model_config("notebook-cnn", data["channels"], data["image_size"],
                                                            n_classes), **model_options(args)})
        t0 = time.perf_counter()
        pre_hist = train_classifier(backbone, single["train_x"], splits.train_y, single["val_x"], splits.val_y,
                                    epochs=train["epochs"], batch_size=train["batch_size"], lr=train["lr"],
                                    optimizer=train["optimizer"], augment=train["augment"], seed=seed,
                                    device=device, progress=_progress(args), desc=f"seed {seed} pretrain")
        pre_time = time.perf_counter() - t0
        pre_pred = predict(backbone, single["test_x"]).numpy()
        arms = {}
        for arm in ("single", "multi"):
            torch.manual_seed(seed + 1)
            model = copy.deepcopy(backbone)
            if arm == "single":
                model.head.reset_parameters()
                torch.nn.init.xavier_uniform_(model.head.weight)
                torch.nn.init.zeros_(model.head.bias)
                inputs = single
            else:
                model = MultiQualityClassifier(model, num_branches=1 + len(qualities), num_classes=n_classes)
                inputs = multi
            t0 = time.perf_counter()
            log = train_block_by_block(model, inputs["train_x"], splits.train_y, inputs["val_x"], splits.val_y,
                                       stages=args.stages, head_lr=args.head_lr, stage_epochs=args.stage_epochs,
                                       patience=args.patience, seed=seed, device=device, progress=_progress(args),
                                       desc=f"seed {seed} {arm}")
            wall = time.perf_counter() - t0
            pred = predict(model, inputs["test_x"], batch_size=128).numpy()
            metrics = {"test_acc": float((pred == splits.test_y).mean()),
                       "per_class_test_acc": per_class_accuracy(splits.test_y, pred, n_classes),
                       "predicted_class_counts": np.bincount(pred, minlength=n_classes).tolist(),
                       "val_acc": log[-1]["best_val_acc"], "epochs_run": sum(s["epochs_run"] for s in log),
                       "train_time_s": sum(s["train_time_s"] for s in log), "history": None, "tta_s": None}
            row = _result_row("multi-quality", "jpeg-sim" if arm == "multi" else "original",
                              "orig+" + ",".join(map(str, qualities)) if arm == "multi" else None, None, metrics,
                              seed=seed, arm=arm, wall_s=wall, stages=log,
                              parameters=sum(p.numel() for p in model.parameters()))
            rows.append(row)
            arms[arm] = row["test_acc"]
            print(f"seed {seed} {arm:>6}: test acc {row['test_acc']:.4f} "
                  f"({row['epochs_run']} epochs over {len(log)} stages, {wall:.0f}s)", flush=True)
        seeds_log.append({"seed": seed, "pretrain_history": pre_hist, "pretrain_time_s": pre_time,
                          "pretrained_test_acc": float((pre_pred == splits.test_y).mean()), **arms})
        _write(args.out, "multi-quality", _payload(args, splits, branch_qualities=qualities,
                                                   block_by_block={"stages": args.stages, "head_lr": args.head_lr,
                                                                   "stage_epochs": args.stage_epochs,
                                                                   "patience": args.patience, "optimizer": "sgd",
                                                                   "batch_size": 100},
                                                   seeds=seeds_log, summary=_multi_summary(rows)), rows)
    summary = _multi_summary(rows)
    for arm, s in summary.items():
        print(f"{arm:>6}: test acc {s['mean']:.4f} +- {s['std']:.4f} over {s['n']} seeds")
    plots.plot_multi_quality(rows, summary, args.out, splits.class_names)
    return 0


def _multi_summary(rows):
    import numpy as np

    out = {}
    for arm in ("single", "multi"):
        accs = [r["test_acc"] for r in rows if r.get("arm") == arm]
        if accs:
            out[arm] = {"mean": float(np.mean(accs)), "std": float(np.std(accs, ddof=1)) if len(accs) > 1 else 0.0,
                        "n": len(accs), "test_acc": accs}
    return out


# ------------------------------------------------------------------------------------ collapse study
def notebook_readback(images, codec, quality):
    """The notebook's compress_JPEG / compress_WebP, reproduced as written (same bug included).

    All images are saved one after another into ONE BytesIO, then read back N times with
    Image.open(buffer). Image.open seeks to the start of the buffer, so every "decoded" image
    is the FIRST image of the set: the training set becomes N copies of image 0 with the N
    original labels. Returns (uint8 images like the input, total bytes of the buffer)."""
    import io

    import numpy as np
    from PIL import Image

    from .compressed import encode_image, pillow_options

    fmt, options = pillow_options(codec, quality)
    buffer = io.BytesIO()
    for image in images:
        buffer.write(encode_image(image, fmt, options))
    nbytes = buffer.getbuffer().nbytes
    channels = images.shape[-1]
    decoded = []
    for _ in range(len(images)):
        with Image.open(buffer) as im:  # what the notebook did: no seek to the i-th file
            arr = np.asarray(im.convert("L" if channels == 1 else "RGB"))
        decoded.append(arr[..., None] if channels == 1 else arr)
    return np.stack(decoded), nbytes


def run_collapse(args):
    import numpy as np

    from . import compressed, plots
    from .pipeline import fit_and_test, model_options, train_options

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v not in ("notebook", "raw-inputs", "fixed"):
            raise UserError(f"unknown variant {v!r}; choose from notebook, raw-inputs, fixed")
    splits = _splits(args)
    rows = []
    # Every variant trains like the notebook (RMSprop 1e-3 with Keras' decay 1e-6, its shift/flip
    # augmentation, batch --batch-size); they differ in one factor at a time:
    #   notebook    its read-back (every image = the first) and no normalisation (raw 0..255)
    #   raw-inputs  correct read-back, still raw 0..255
    #   fixed       correct read-back and z-score with the training images' statistics
    train = {**train_options(args), "optimizer": "rmsprop", "lr_decay": 1e-6, "augment": True}
    for q in [compressed.check_quality(q, "jpeg") for q in args.qualities]:
        good = compressed.pillow_set(splits.train_x, "jpeg", q)
        for variant in variants:
            if variant == "notebook":
                train_x, nbytes = notebook_readback(splits.train_x, "jpeg", q)
            else:
                train_x, nbytes = good.images, good.total_bytes
            normalize = "train-stats" if variant == "fixed" else "none"
            _, _, metrics = fit_and_test(splits, train_x, splits.val_x, splits.test_x, arch=args.arch, train=train,
                                         model_options=model_options(args), normalize=normalize,
                                         device=args.device, progress=_progress(args), desc=f"{variant} q={q}")
            distinct = len(np.unique(train_x.reshape(len(train_x), -1), axis=0))
            row = _result_row("collapse", "jpeg", q, {"total_bytes": int(nbytes)}, metrics, arm=variant,
                              distinct_training_images=int(distinct), normalize=normalize,
                              optimizer=train["optimizer"], augment=train["augment"],
                              final_train_acc=metrics["history"][-1]["train_acc"])
            rows.append(row)
            print(f"q={q:>3} {variant:>10}: {distinct:>5} distinct training images, train acc "
                  f"{row['final_train_acc']:.3f}, test acc {row['test_acc']:.4f}, "
                  f"majority predicted class share {row['majority_class_share']:.2f}", flush=True)
            _write(args.out, "collapse", _payload(args, splits, variants=variants), rows)
    plots.plot_collapse(rows, args.out)
    return 0
