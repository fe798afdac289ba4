"""What the classify experiments share: their splits, progress switch, result rows and files."""



CSV_FIELDS = ["experiment", "codec", "quality", "seed", "arm", "total_bytes", "bytes_per_image", "bpp", "psnr_db",
              "epochs_run", "train_time_s", "tta_s", "val_acc", "test_acc", "majority_class_share"]


def experiment_splits(args):
    from learned_codec.classify.data import source_options
    from learned_codec.classify.pipeline import load_splits

    return load_splits(args.dataset, args.train_size, args.val_size, args.test_size, args.seed,
                       **source_options(args))


def progress(args):
    return not getattr(args, "quiet", False)


def write(out, name, payload, rows):
    from pathlib import Path

    from learned_codec.reporting import write_csv, write_json

    out = Path(out)
    write_json(out / "results.json", {"experiment": name, **payload, "rows": rows})
    write_csv(out / "results.csv", rows, CSV_FIELDS, float_format=".6g")


def majority_share(counts):
    total = sum(counts)
    return max(counts) / total if total else 0.0


def result_row(experiment, codec, quality, summary, metrics, **extra):
    row = {"experiment": experiment, "codec": codec, "quality": quality, **(summary or {}), **extra}
    row.update({k: metrics.get(k) for k in ("epochs_run", "train_time_s", "tta_s", "val_acc", "test_acc",
                                            "per_class_test_acc", "predicted_class_counts", "history")})
    row["majority_class_share"] = majority_share(metrics["predicted_class_counts"])
    row["codec"], row["quality"] = codec, quality
    return row


def raw_summary(images):
    n, h, w, c = images.shape
    return {"total_bytes": int(images.nbytes), "bytes_per_image": float(h * w * c), "bpp": 8.0 * c,
            "psnr_db": float("inf")}


def results_payload(args, splits, **more):
    from learned_codec.classify.pipeline import train_options

    return {"dataset": splits.dataset, "class_names": splits.class_names, "sizes": splits.sizes,
            "train": train_options(args) if hasattr(args, "epochs") else None, **more}


def learned_codecs(specs):
    """Learned codecs from 'RUN_DIR_OR_NAME[:QUANT]' specs (see learned_codec.codecs.registry.parse_codec_spec);
    each image becomes its own file (header included), so its bytes are a real file's."""
    from learned_codec.codecs.registry import load_codecs

    codecs = load_codecs(specs)
    for spec, codec in zip(specs, codecs):
        codec.setting = spec
    return codecs
