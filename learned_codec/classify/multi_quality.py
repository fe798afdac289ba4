"""Experiment 3: the multi-quality topology (original + JPEG QF 10..100 through one shared
backbone, trained block by block) against the single-input backbone, several seeds."""
import time

from learned_codec.classify.common import (
    experiment_splits,
    progress,
    result_row,
    results_payload,
    write,
)
from learned_codec.errors import UserError


def multi_quality_inputs(images, data, qualities):
    """uint8 N x H x W x C -> float N x (1 + len(qualities)) x C x S x S: original, then each quality."""
    import numpy as np

    from learned_codec.classify.compressed import simulate_jpeg
    from learned_codec.classify.data import to_model_input

    sim = simulate_jpeg(images, qualities)
    stacked = np.stack([images] + [sim[q] for q in qualities], axis=1)
    return to_model_input(stacked, data)


def run_multi_quality(args):
    import copy

    import numpy as np
    import torch

    from learned_codec.classify import plots
    from learned_codec.classify.blockwise import train_block_by_block
    from learned_codec.classify.data import data_config, to_model_input
    from learned_codec.classify.model import (
        MultiQualityClassifier,
        build_classifier,
        default_model_config,
    )
    from learned_codec.classify.pipeline import model_options, train_options
    from learned_codec.classify.train import (
        per_class_accuracy,
        predict,
        resolve_device,
        train_classifier,
    )

    if not args.seeds:
        raise UserError("--seeds needs at least one seed")
    if args.arch != "notebook-cnn":
        raise UserError("the multi-quality topology is built on --arch notebook-cnn")
    qualities = args.branch_qualities
    splits = experiment_splits(args)
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
                                    device=device, progress=progress(args), desc=f"seed {seed} pretrain")
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
                                       patience=args.patience, seed=seed, device=device, progress=progress(args),
                                       desc=f"seed {seed} {arm}")
            wall = time.perf_counter() - t0
            pred = predict(model, inputs["test_x"], batch_size=128).numpy()
            metrics = {"test_acc": float((pred == splits.test_y).mean()),
                       "per_class_test_acc": per_class_accuracy(splits.test_y, pred, n_classes),
                       "predicted_class_counts": np.bincount(pred, minlength=n_classes).tolist(),
                       "val_acc": log[-1]["best_val_acc"], "epochs_run": sum(s["epochs_run"] for s in log),
                       "train_time_s": sum(s["train_time_s"] for s in log), "history": None, "tta_s": None}
            row = result_row("multi-quality", "jpeg-sim" if arm == "multi" else "original",
                              "orig+" + ",".join(map(str, qualities)) if arm == "multi" else None, None, metrics,
                              seed=seed, arm=arm, wall_s=wall, stages=log,
                              parameters=sum(p.numel() for p in model.parameters()))
            rows.append(row)
            arms[arm] = row["test_acc"]
            print(f"seed {seed} {arm:>6}: test acc {row['test_acc']:.4f} "
                  f"({row['epochs_run']} epochs over {len(log)} stages, {wall:.0f}s)", flush=True)
        seeds_log.append({"seed": seed, "pretrain_history": pre_hist, "pretrain_time_s": pre_time,
                          "pretrained_test_acc": float((pre_pred == splits.test_y).mean()), **arms})
        write(args.out, "multi-quality", results_payload(args, splits, branch_qualities=qualities,
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
