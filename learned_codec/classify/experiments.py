"""The classify experiments (their command-line parsers: commands/classify.py).

    datasets          compressed data sets of the training subset: bytes, bpp, PSNR per codec/quality
    train-compressed  experiment 1: train on compressed (Pillow JPEG / WebP, real bytes), validate
                      and test on originals; accuracy, bytes, time to a target validation accuracy
    same-quality      experiment 2: train, validate and test at the same JPEG quality (jpeg_simulate)
    multi-quality     experiment 3: original + QF 10..100 through one shared backbone vs the
                      single-input backbone, both trained block by block from the same pretrained
                      backbone on the same data, several seeds, mean +- std
    collapse          the notebook's below-quality-50 collapse: its code as written vs fixed

Each writes OUT/results.json (everything, with histories), OUT/results.csv (one row per run)
and PNG plots. This module imports nothing heavy at load time (the CLI reads its defaults).
"""

from learned_codec.classify.common import (
    experiment_splits,
    learned_codecs,
    progress,
    raw_summary,
    result_row,
    results_payload,
    write,
)
from learned_codec.errors import UserError

NOTEBOOK_JPEG_QUALITIES = [95, 90, 80, 70, 50, 30, 20, 10]
NOTEBOOK_WEBP_QUALITIES = [1, 10, 20, 30, 50, 70, 80, 90, 100]
SAME_QUALITIES = [1, 5, 10, 15, 20, 25, 50, 75, 100]
BRANCH_QUALITIES = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100]



def _multi_quality(args):
    from learned_codec.classify.multi_quality import run_multi_quality

    return run_multi_quality(args)


def run_experiment(args):
    from learned_codec.fileio import check_writable_dir

    if args.action == "plot":
        return run_plot(args)
    check_writable_dir(args.out)
    runner = {"datasets": run_datasets, "train-compressed": run_train_compressed, "same-quality": run_same_quality,
              "multi-quality": _multi_quality, "collapse": run_collapse}[args.action]
    return runner(args)


















# ------------------------------------------------------------------------------------ datasets
def run_datasets(args):
    from learned_codec.classify import compressed, plots

    splits = experiment_splits(args)
    x = splits.train_x
    rows = [{"experiment": "datasets", "codec": "original", "quality": None, **raw_summary(x)}]
    for q in args.jpeg_qualities:
        rows.append({"experiment": "datasets", **compressed.pillow_set(x, "jpeg", q, progress(args)).summary(x)})
    for q in args.webp_qualities:
        rows.append({"experiment": "datasets", **compressed.pillow_set(x, "webp", q, progress(args)).summary(x)})
    sim = compressed.simulated_jpeg_sets(x, args.sim_qualities)
    for q, s in sim.items():
        rows.append({"experiment": "datasets", **s.summary(x)})
    for codec in learned_codecs(args.learned):
        rows.append({"experiment": "datasets", **compressed.learned_set(x, codec, progress=progress(args)).summary(x)})
    payload = results_payload(args, splits, note="bytes: one standalone file per image; original: raw uint8 size")
    write(args.out, "datasets", payload, rows)
    plots.plot_dataset_bytes(rows, f"{args.out}/bytes.png")
    for r in rows:
        print(f"{r['codec']:>9} q={str(r['quality']):>4}: {r['total_bytes']:>9} bytes "
              f"({r['bytes_per_image']:.1f} per image, {r['bpp']:.2f} bpp, PSNR {r['psnr_db']:.2f} dB)")
    return 0


# ------------------------------------------------------------------------------------ experiment 1
def run_train_compressed(args):
    from learned_codec.classify import compressed, plots
    from learned_codec.classify.pipeline import (
        fit_and_test,
        model_options,
        train_options,
    )

    splits = experiment_splits(args)
    codecs = [c.strip() for c in args.codecs.split(",") if c.strip()]
    for c in codecs:
        if c not in compressed.PILLOW_CODECS + ("none",):
            raise UserError(f"unknown codec {c!r} for --codecs; choose from {', '.join(compressed.PILLOW_CODECS)}")
    codecs = [] if codecs == ["none"] else codecs
    jobs = [] if args.skip_original else [("original", None, None)]
    for c in codecs:
        qualities = args.jpeg_qualities if c == "jpeg" else args.webp_qualities
        jobs += [(c, compressed.check_quality(q, c), None) for q in qualities]
    jobs += [(None, None, codec) for codec in learned_codecs(args.learned)]
    train, rows = train_options(args), []
    for codec, q, learned in jobs:
        if learned is not None:
            cset = compressed.learned_set(splits.train_x, learned, progress=progress(args))
            codec, q, summary = cset.codec, cset.quality, cset.summary(splits.train_x)
        elif codec == "original":
            cset, summary = None, raw_summary(splits.train_x)
        else:
            cset = compressed.pillow_set(splits.train_x, codec, q, progress(args))
            summary = cset.summary(splits.train_x)
        train_x = splits.train_x if cset is None else cset.images
        _, _, metrics = fit_and_test(splits, train_x, splits.val_x, splits.test_x, arch=args.arch, train=train,
                                     model_options=model_options(args), target_accuracy=args.target_accuracy, device=args.device,
                                     progress=progress(args), desc=f"{codec} q={q}")
        rows.append(result_row("train-compressed", codec, q, summary, metrics))
        _print_row(rows[-1])
        write(args.out, "train-compressed", results_payload(args, splits, target_accuracy=args.target_accuracy,
                                                      test_on="originals", val_on="originals"), rows)
    plots.plot_experiment(rows, args.out, splits.class_names, target=args.target_accuracy)
    return 0


def run_plot(args):
    """Redraw a results folder's plots (and CSV), with TTA recomputed for --target-accuracy."""
    import json
    from pathlib import Path

    from learned_codec.classify import plots
    from learned_codec.classify.train import time_to_accuracy

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
    write(args.results, result["experiment"], payload, rows)
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
    from learned_codec.classify import compressed, plots
    from learned_codec.classify.pipeline import (
        fit_and_test,
        model_options,
        train_options,
    )

    splits = experiment_splits(args)
    qualities = [compressed.check_quality(q, "jpeg") for q in args.qualities]
    train_sets = compressed.simulated_jpeg_sets(splits.train_x, qualities)
    val_sets = compressed.simulate_jpeg(splits.val_x, qualities)
    test_sets = compressed.simulate_jpeg(splits.test_x, qualities)
    train, rows = train_options(args), []
    jobs = [("original", None)] + [("jpeg-sim", q) for q in qualities]
    for codec, q in jobs:
        if q is None:
            tx, vx, sx, summary = splits.train_x, splits.val_x, splits.test_x, raw_summary(splits.train_x)
        else:
            tx, vx, sx = train_sets[q].images, val_sets[q], test_sets[q]
            summary = train_sets[q].summary(splits.train_x)
        _, _, metrics = fit_and_test(splits, tx, vx, sx, arch=args.arch, train=train,
                                     model_options=model_options(args), target_accuracy=args.target_accuracy, device=args.device,
                                     progress=progress(args), desc=f"same q={q}")
        rows.append(result_row("same-quality", codec, q, summary, metrics))
        _print_row(rows[-1])
        write(args.out, "same-quality", results_payload(args, splits, target_accuracy=args.target_accuracy,
                                                  test_on="the same quality", val_on="the same quality"), rows)
    plots.plot_experiment(rows, args.out, splits.class_names, target=args.target_accuracy)
    return 0








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

    from learned_codec.classify.compressed import encode_image, pillow_options

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

    from learned_codec.classify import compressed, plots
    from learned_codec.classify.pipeline import (
        fit_and_test,
        model_options,
        train_options,
    )

    variants = [v.strip() for v in args.variants.split(",") if v.strip()]
    for v in variants:
        if v not in ("notebook", "raw-inputs", "fixed"):
            raise UserError(f"unknown variant {v!r}; choose from notebook, raw-inputs, fixed")
    splits = experiment_splits(args)
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
                                         device=args.device, progress=progress(args), desc=f"{variant} q={q}")
            distinct = len(np.unique(train_x.reshape(len(train_x), -1), axis=0))
            row = result_row("collapse", "jpeg", q, {"total_bytes": int(nbytes)}, metrics, arm=variant,
                              distinct_training_images=int(distinct), normalize=normalize,
                              optimizer=train["optimizer"], augment=train["augment"],
                              final_train_acc=metrics["history"][-1]["train_acc"])
            rows.append(row)
            print(f"q={q:>3} {variant:>10}: {distinct:>5} distinct training images, train acc "
                  f"{row['final_train_acc']:.3f}, test acc {row['test_acc']:.4f}, "
                  f"majority predicted class share {row['majority_class_share']:.2f}", flush=True)
            write(args.out, "collapse", results_payload(args, splits, variants=variants), rows)
    plots.plot_collapse(rows, args.out)
    return 0
