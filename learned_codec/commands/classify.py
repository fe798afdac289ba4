"""learned-codec classify: downstream classifiers trained/tested on compressed images."""

HELP = "downstream classifier experiments on compressed images"
DESCRIPTION = HELP + """

Sub-commands:
  train           train one classifier (the CIFAR-10 notebook's CNN by default) and save a run
                  folder (config.json + model.safetensors + metrics.json)
  datasets        make the compressed data sets (Pillow JPEG / WebP, native jpeg_simulate, a
                  learned codec) and record each one's encoded bytes
  train-compressed  experiment 1: train on images compressed at quality q, test on originals
                  (accuracy, data set bytes, time to a target validation accuracy)
  same-quality    experiment 2: train and test at the same JPEG quality q
  multi-quality   experiment 3: original + JPEG QF 10..100 through one shared backbone,
                  block-by-block training, against the single-input backbone, several seeds
  collapse        the notebook's "vanishing gradient" below quality 50: its setup as written
                  against the fixed one
  plot            redraw a results folder's plots (e.g. time to another target accuracy)
  codecs          the Pac-Man task on codecs' decoded frames (--dataset pacman): train on
                  originals, test on JPEG 4:4:4/4:2:0, WebP, AVIF, H.264, AV1 and the learned
                  codecs at several rates; optionally train on a codec's frames too

Data: --dataset fashion-mnist (Debian package, default), cifar10 (--cifar-tarball PATH to
cifar-10-python.tar.gz), folder (--folder ROOT with one sub-folder per class, e.g. labelled
Pac-Man frames), pacman (--data DIR made by `learned-codec data pacman`: per 200x160 frame,
12 situation labels, the maze and the positions of Ms. Pac-Man and the four ghosts; the
models are multi-task: notebook-cnn adapted to 200x160, or small-resnet). Nothing is
downloaded. Runs on the GPU when one is present.
"""

# learned_codec.classify.model.ARCHS, repeated here so that building the parser imports no torch.
CLASSIFIER_ARCHS = ("notebook-cnn",) + tuple(f"helmholtz-{i}" for i in range(6))
PACMAN_ARCHS = ("notebook-cnn", "small-resnet")   # classify.pacman_model.PACMAN_ARCHS
SUBCOMMANDS = ("train", "datasets", "train-compressed", "same-quality", "multi-quality", "collapse", "plot",
               "codecs")


def add_data_arguments(p, train_size=None, val_size=2000, test_size=None):
    g = p.add_argument_group("data")
    g.add_argument("--dataset", default="fashion-mnist", choices=("fashion-mnist", "cifar10", "folder", "pacman"),
                   help="data set (default: fashion-mnist; pacman: the multi-task Pac-Man set)")
    g.add_argument("--data", default="data/pacman", metavar="DIR",
                   help="Pac-Man data folder for --dataset pacman (default: data/pacman)")
    g.add_argument("--cifar-tarball", metavar="PATH", help="cifar-10-python.tar.gz for --dataset cifar10")
    g.add_argument("--folder", metavar="ROOT", help="labelled image folder for --dataset folder")
    g.add_argument("--train-size", type=int, default=train_size, metavar="N",
                   help=f"training images, a seeded subset of the train split (default: {train_size or 'all'})")
    g.add_argument("--val-size", type=int, default=val_size, metavar="N",
                   help=f"validation images, disjoint from training (default: {val_size})")
    g.add_argument("--test-size", type=int, default=test_size, metavar="N",
                   help=f"test images from the test split (default: {test_size or 'all'})")


def add_train_arguments(p, epochs=5):
    g = p.add_argument_group("training")
    g.add_argument("--arch", default="notebook-cnn", choices=CLASSIFIER_ARCHS + ("small-resnet",), metavar="ARCH",
                   help="notebook-cnn (default) or helmholtz-0 .. helmholtz-5 (the six perceptual-"
                        "compression settings); --dataset pacman: notebook-cnn or small-resnet")
    g.add_argument("--epochs", type=int, default=epochs, help=f"epochs (default: {epochs})")
    g.add_argument("--batch-size", type=int, default=64, help="batch size (default: 64, the notebook's)")
    g.add_argument("--lr", type=float, default=1e-3, help="learning rate (default: 1e-3, the notebook's)")
    g.add_argument("--optimizer", default="rmsprop", choices=("rmsprop", "adam", "sgd"),
                   help="optimizer (default: rmsprop, the notebook's)")
    g.add_argument("--augment", action="store_true",
                   help="random shifts (10%%) and horizontal flips, like the notebook's generator")
    g.add_argument("--bn-momentum", type=float, default=0.1,
                   help="BatchNorm running-statistics momentum, PyTorch convention (default: 0.1). Keras' "
                        "default is 0.01 (its momentum=0.99): the moving statistics then need thousands of "
                        "steps to settle, and at CPU budgets of ~100 steps evaluation accuracy is far below "
                        "training accuracy (measured: 0.53 vs 0.77 test accuracy, see the results README)")
    g.add_argument("--seed", type=int, default=0, help="seed of the subsets, init and batches (default: 0)")
    g.add_argument("--device", default="auto", help="auto (GPU when present), cpu or cuda")
    g.add_argument("--quiet", action="store_true", help="no progress bars")


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


def add_experiment_parsers(sub):
    from learned_codec.classify.experiments import (
        BRANCH_QUALITIES,
        NOTEBOOK_JPEG_QUALITIES,
        NOTEBOOK_WEBP_QUALITIES,
        SAME_QUALITIES,
    )

    p = sub.add_parser("datasets", help="make the compressed data sets and record their bytes")
    add_data_arguments(p, train_size=2000)
    p.add_argument("--jpeg-qualities", type=int_list, default=NOTEBOOK_JPEG_QUALITIES, metavar="Q,Q,...",
                   help="JPEG qualities (Pillow, real bytes; default: the notebook's 95..10)")
    p.add_argument("--webp-qualities", type=int_list, default=NOTEBOOK_WEBP_QUALITIES, metavar="Q,Q,...",
                   help="WebP qualities (Pillow, real bytes; default: the notebook's 1..100)")
    p.add_argument("--sim-qualities", type=int_list, default=SAME_QUALITIES, metavar="Q,Q,...",
                   help="qualities made by the native jpeg_simulate (bytes: Pillow's file sizes)")
    p.add_argument("--learned", action="append", default=[], metavar="RUN_DIR",
                   help="also code the images with this learned codec (a run folder or shipped name)")
    p.add_argument("--seed", type=int, default=0, help="seed of the training subset (default: 0)")
    p.add_argument("--quiet", action="store_true", help="no progress bars")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (results.json, results.csv, plots)")

    p = sub.add_parser("train-compressed", help="experiment 1: train on compressed, test on originals")
    add_data_arguments(p, train_size=2000, val_size=500, test_size=2000)
    add_train_arguments(p, epochs=3)
    p.add_argument("--codecs", default="jpeg,webp", help="comma-separated: jpeg, webp (default: both)")
    p.add_argument("--jpeg-qualities", type=int_list, default=NOTEBOOK_JPEG_QUALITIES, metavar="Q,Q,...",
                   help="JPEG qualities (Pillow, real bytes; default: the notebook's 95..10)")
    p.add_argument("--webp-qualities", type=int_list, default=NOTEBOOK_WEBP_QUALITIES, metavar="Q,Q,...",
                   help="WebP qualities (Pillow, real bytes; default: the notebook's 1..100)")
    p.add_argument("--learned", action="append", default=[], metavar="RUN_DIR",
                   help="also train on images coded by this learned codec")
    p.add_argument("--target-accuracy", type=float, default=0.8,
                   help="validation accuracy for time-to-accuracy (default: 0.8)")
    p.add_argument("--skip-original", action="store_true",
                   help="leave out the reference run on the original images (e.g. when only adding --learned)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (results.json, results.csv, plots)")

    p = sub.add_parser("same-quality", help="experiment 2: train and test at the same JPEG quality")
    add_data_arguments(p, train_size=2000, val_size=500, test_size=2000)
    add_train_arguments(p, epochs=3)
    p.add_argument("--qualities", type=int_list, default=SAME_QUALITIES, metavar="Q,Q,...",
                   help="JPEG qualities to train and test at (default: 1,5,10,15,20,25,50,75,100)")
    p.add_argument("--target-accuracy", type=float, default=0.8,
                   help="validation accuracy for time-to-accuracy (default: 0.8)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (results.json, results.csv, plots)")

    p = sub.add_parser("multi-quality", help="experiment 3: the multi-quality topology vs the single input")
    add_data_arguments(p, train_size=1000, val_size=300, test_size=1000)
    add_train_arguments(p, epochs=3)
    p.add_argument("--seeds", type=int_list, default=[0, 1, 2], metavar="S,S,...",
                   help="seeds, one run of each arm per seed (default: 0,1,2)")
    p.add_argument("--branch-qualities", type=int_list, default=BRANCH_QUALITIES, metavar="Q,Q,...",
                   help="JPEG qualities of the branches beside the original (default: 10,20,...,100)")
    p.add_argument("--stages", type=int, default=4, help="head + this many minus one blocks (default: 4 = all)")
    p.add_argument("--head-lr", type=float, default=0.01, help="learning rate of the head stage (default: 0.01)")
    p.add_argument("--stage-epochs", type=int, default=5, help="most epochs per stage (default: 5)")
    p.add_argument("--patience", type=int, default=1, help="plateau: epochs without a better val loss (default: 1)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (results.json, results.csv, plots)")

    p = sub.add_parser("plot", help="redraw the plots of a results folder, optionally for another TTA target")
    p.add_argument("results", metavar="DIR", help="a folder written by train-compressed or same-quality")
    p.add_argument("--target-accuracy", type=float, help="recompute time to this validation accuracy")
    p.add_argument("--merge", action="append", default=[], metavar="DIR",
                   help="append the rows of another results folder of the same experiment first")

    p = sub.add_parser("collapse", help="the notebook's collapse below quality 50: as written vs fixed")
    add_data_arguments(p, train_size=2000, val_size=500, test_size=2000)
    add_train_arguments(p, epochs=3)
    p.add_argument("--qualities", type=int_list, default=[10, 30, 50, 70, 90], metavar="Q,Q,...",
                   help="JPEG qualities to train at (default: 10,30,50,70,90)")
    p.add_argument("--variants", default="notebook,raw-inputs,fixed",
                   help="notebook (its read-back + no normalisation), raw-inputs (correct read-back, "
                        "no normalisation), fixed (correct read-back, z-score); comma-separated")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (results.json, results.csv, plots)")


def add_pacman_codecs_parser(sub):
    from learned_codec.classify.pacman_experiments import PACMAN_BASELINES, PACMAN_LEARNED

    p = sub.add_parser("codecs", help="the Pac-Man task on each codec's decoded frames (--dataset pacman)")
    add_data_arguments(p, train_size=3000, val_size=0, test_size=500)
    add_train_arguments(p, epochs=3)
    p.add_argument("--archs", default="notebook-cnn",
                   help="comma-separated task models trained on the originals (default: notebook-cnn; "
                        "also small-resnet)")
    p.add_argument("--baselines", default=",".join(PACMAN_BASELINES),
                   help=f"classic codecs, each at the rates of classify.pacman_experiments.PACMAN_QUALITIES "
                        f"(default: {','.join(PACMAN_BASELINES)})")
    p.add_argument("--learned", action="append", metavar="SPEC",
                   help="learned codec points, RUN_DIR_OR_NAME[:QUANT[:k=..]] (repeatable; default: "
                        + ", ".join(PACMAN_LEARNED) + ")")
    p.add_argument("--same-codec", action="append", default=[], metavar="CODEC:SETTING",
                   help="experiment 2: also train on this codec point's frames, e.g. jpeg:q=30 (repeatable)")
    p.add_argument("--max-steps", type=int, metavar="N", help="stop each training after N steps (smoke runs)")
    p.add_argument("--out", required=True, metavar="DIR", help="results folder (results.json/csv, report.md, plots)")


def add_arguments(parser):
    sub = parser.add_subparsers(dest="action", metavar="ACTION")
    sub.required = True

    p = sub.add_parser("train", help="train one classifier and save a run folder")
    add_data_arguments(p)
    add_train_arguments(p)
    p.add_argument("--normalize", default="train-stats", choices=("train-stats", "none"),
                   help="z-score with the training images' per-channel stats (default) or raw 0..255")
    p.add_argument("--out", required=True, metavar="RUN_DIR", help="run folder to write")

    add_experiment_parsers(sub)
    add_pacman_codecs_parser(sub)


def run(args):
    dataset = getattr(args, "dataset", None)
    if dataset == "pacman" and args.action not in ("train", "codecs"):
        from learned_codec.errors import UserError

        raise UserError(f"classify {args.action} runs on labelled classes; the Pac-Man task set "
                        f"takes `classify train` and `classify codecs`")
    if args.action == "codecs":
        return run_pacman_codecs(args)
    if args.action == "train" and dataset == "pacman":
        return run_pacman_train(args)
    if getattr(args, "arch", None) == "small-resnet":
        from learned_codec.errors import UserError

        raise UserError("--arch small-resnet is a Pac-Man task model: use it with --dataset pacman")
    if args.action == "train":
        return run_train(args)
    from learned_codec.classify import experiments

    return experiments.run_experiment(args)


def run_train(args):
    import contextlib

    from learned_codec.classify.data import source_options
    from learned_codec.classify.pipeline import (
        fit_and_test,
        load_splits,
        model_options,
        train_options,
    )
    from learned_codec.classify.run import save_classifier_run
    from learned_codec.fileio import check_writable_dir

    from pathlib import Path

    out = Path(args.out)
    existed = out.exists()
    check_writable_dir(out)
    try:
        splits = load_splits(args.dataset, args.train_size, args.val_size, args.test_size, args.seed,
                             **source_options(args))
        model, config, metrics = fit_and_test(
            splits, splits.train_x, splits.val_x, splits.test_x, arch=args.arch, train=train_options(args),
            model_options=model_options(args),
            normalize=args.normalize, device=args.device, progress=not args.quiet)
        save_classifier_run(out, model, config, metrics)
    except BaseException:
        if not existed:  # a failed run leaves no empty output folder behind
            with contextlib.suppress(OSError):
                out.rmdir()  # only when empty: never removes what was written
        raise
    print(f"classifier {args.arch} on {args.dataset}: {splits.sizes['train']} train images, "
          f"{metrics['epochs_run']} epochs, val acc {metrics['val_acc']:.4f}, "
          f"test acc {metrics['test_acc']:.4f} on {splits.sizes['test']} test images -> {args.out}")
    return 0




def _pacman_root(args):
    from pathlib import Path

    from data_tools.frames import load_manifest
    from learned_codec.errors import UserError

    root = Path(args.data)
    if not (root / "manifest.json").is_file():
        raise UserError(f"no Pac-Man data set at {root} (no manifest.json): make it with "
                        f"`learned-codec data pacman --out {root}`")
    manifest = load_manifest(root)   # malformed JSON: one clear line
    if not isinstance(manifest, dict) or manifest.get("dataset") != "ms_pacman":
        raise UserError(f"{root} is not a Pac-Man data set (its manifest names another dataset)")
    return root


def run_pacman_train(args):
    import numpy as np

    from data_tools.frames import evenly_spaced
    from learned_codec.classify.pacman_experiments import held_out
    from learned_codec.classify.pacman_task import load_task_split, predict_tasks, task_scores, train_task_model
    from learned_codec.classify.run import save_classifier_run
    from data_tools.pacman.tasks import select
    from learned_codec.reporting import json_safe

    root = _pacman_root(args)
    frames, tasks = load_task_split(root, "train")
    idx = evenly_spaced(len(frames), args.train_size)
    model, run = train_task_model(np.asarray(frames[idx]), select(tasks, idx), arch=args.arch,
                                  epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                                  seed=args.seed, progress=not args.quiet)
    test_frames, test_tasks = held_out(root, args.test_size)
    scores = task_scores(predict_tasks(model, run, test_frames), test_tasks)
    config = {"task": "pacman", "model": {"arch": f"pacman-{args.arch}"},
              "data": {"dataset": "pacman", "dir": str(root), "mean": run["mean"], "std": run["std"]},
              "train": {k: v for k, v in run.items() if k not in ("mean", "std", "history")}}
    save_classifier_run(args.out, model, config, json_safe({**scores, "history": run["history"]}))
    print(f"pacman task {args.arch}: {run['train_frames']} train frames, {run['steps']} steps; on "
          f"{len(test_frames)} held-out frames: situations {scores['situation_bacc']}, maze "
          f"{scores['maze_acc']:.3f}, positions {scores['position_err_px']} px -> {args.out}")
    return 0


def run_pacman_codecs(args):
    import json

    from learned_codec.classify import pacman_experiments as X
    from learned_codec.codecs.baselines import parse_baseline_names
    from learned_codec.errors import UserError

    if args.dataset != "pacman":
        raise UserError("classify codecs runs the Pac-Man task: add --dataset pacman")
    root = _pacman_root(args)
    archs = [a.strip() for a in args.archs.split(",") if a.strip()]
    bad = [a for a in archs if a not in PACMAN_ARCHS]
    if bad or not archs:
        raise UserError(f"--archs: unknown {', '.join(bad) or '(none)'}; choose from {', '.join(PACMAN_ARCHS)}")
    try:
        baselines = parse_baseline_names(args.baselines) if args.baselines else []
    except ValueError as e:
        raise UserError(f"--baselines: {e}") from None
    result = X.run(root, args.out, archs=tuple(archs), baselines=baselines,
                   learned=args.learned if args.learned is not None else X.PACMAN_LEARNED,
                   same_codec=args.same_codec, train_size=args.train_size, eval_size=args.test_size,
                   epochs=args.epochs, batch_size=args.batch_size, seed=args.seed,
                   progress=not args.quiet, max_steps=args.max_steps)
    print(json.dumps({"out": str(args.out), "rows": len(result["rows"]), "wall_s": round(result["wall_s"], 1),
                      "keep_99": result["keep_99"]}, indent=1))
    return 0
