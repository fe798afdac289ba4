"""compress-model for codec runs: decoder-only pruning / fp16 / int8, and the RD change.

For each variant: copy the codec's model, compress its decoder (decoder.py), save a new
run folder OUT/<variant>/ (config.json with a "compression" section + compressed
model.safetensors), load it back the way every codec loads (LearnedCodec.load ->
checkpoint.load_model), and measure it with the evaluation harness
(learned_codec.eval.harness.measure: real .lcf bytes, PSNR, SSIM) on the same frames as the
uncompressed codec. The .lcf header of a compressed run binds the SHA-256 of its stored
(compressed) weights.
"""
import copy
from pathlib import Path

import numpy as np
import torch
from tqdm import tqdm

from learned_codec.fileio import atomic_write_json, check_writable_dir
from learned_codec.model_compression.api import (
    apply_method,
    save_compressed,
    variant_name,
)
from learned_codec.model_compression.decoder import (
    decoder_inputs,
    decoder_latency,
    decoder_prefixes,
    finetune_decoder,
    recalibrate_batchnorm,
)
from learned_codec.model_compression.storage import tensor_bytes
from learned_codec.models.checkpoint import BEST_NAME, CONFIG_NAME, load_tensors

RUN_KEYS_DROPPED = ("weights_sha256",)  # recomputed for the compressed weights


def original_decoder_bytes(run_dir, prefixes):
    tensors, _ = load_tensors(Path(run_dir) / BEST_NAME)
    return tensor_bytes(tensors, prefixes)


def compressed_run_config(config, info, source):
    out = {k: v for k, v in config.items() if k not in RUN_KEYS_DROPPED}
    out["compression"] = {**info, "source": str(source), "source_weights_sha256": config["weights_sha256"]}
    return out


def compress_codec(source, variants, out_dir, test_frames, train_frames, *, steps=4, scope="layer",
                   finetune_batches=50, batch_size=8, lr=1e-4, seed=0, latency_repeats=10,
                   progress=True, log=print):
    """Run every variant on the codec at `source`; returns the report dict (rows, environment).

    test_frames: uint8 N x H x W x 3 frames to measure on; train_frames: frames the pruned
    decoders fine-tune on (may be empty: pruning without fine-tuning)."""
    from learned_codec.codecs.learned import LearnedCodec
    from learned_codec.eval.harness import measure
    from learned_codec.models.checkpoint import resolve_run

    out_dir = check_writable_dir(out_dir)
    run_dir = resolve_run(source)
    base = LearnedCodec.load(source)
    base.setting = "original"
    prefixes = decoder_prefixes(base.model)
    log(f"{base.arch} ({base.quant}) decoder modules: {', '.join(prefixes)}")
    lat_inputs = decoder_inputs(base, test_frames[:16])
    rows = []
    row, _ = measure(base, test_frames)
    rows.append(_codec_row("original", None, row, original_decoder_bytes(run_dir, prefixes),
                           (run_dir / BEST_NAME).stat().st_size,
                           decoder_latency(base.model, lat_inputs, repeats=latency_repeats), {}))
    train_inputs = None
    if any(m == "prune" for m, _ in variants) and finetune_batches > 0 and len(train_frames):
        log(f"decoder inputs of {len(train_frames)} training frames (fine-tuning pool)")
        train_inputs = decoder_inputs(base, train_frames)
    bar = tqdm(variants, desc="variants", unit="model", disable=not progress, leave=False)
    for method, level in bar:
        name = variant_name(method, level)
        bar.set_postfix_str(name)
        model = copy.deepcopy(base.model)
        losses = []

        def finetune(step, s, model=model, losses=losses):
            if train_inputs is None:
                return
            recalibrate_batchnorm(model, prefixes, train_inputs)
            losses.append(finetune_decoder(model, prefixes, train_inputs, train_frames, finetune_batches,
                                           batch_size=batch_size, lr=lr, seed=seed + step))
            recalibrate_batchnorm(model, prefixes, train_inputs)
            log(f"  {name}: step {step + 1}/{steps} sparsity {s:.3f}, fine-tune MSE {losses[-1]:.6f}")

        with torch.enable_grad():
            info = apply_method(model, method, prefixes, sparsity_level=level, steps=steps, scope=scope,
                                finetune=finetune)
        if method == "prune":
            info.update(finetune_batches_per_step=finetune_batches if train_inputs is not None else 0,
                        finetune_batch_size=batch_size, finetune_lr=lr, finetune_mse=losses,
                        finetune_frames=0 if train_inputs is None else len(train_frames))
        info.pop("layer_sparsity", None)
        variant_dir = check_writable_dir(out_dir / name)
        config = compressed_run_config(base.config, info, source)
        sha, stored, _ = save_compressed(variant_dir / BEST_NAME, model, method, prefixes,
                                         {"model_config": config["model"]})
        atomic_write_json(variant_dir / CONFIG_NAME, config)
        codec = LearnedCodec.load(variant_dir, quant=base.quant)
        codec.setting = name
        assert codec.weights_sha256 == sha
        row, _ = measure(codec, test_frames)
        rows.append(_codec_row(name, info, row, tensor_bytes(stored, prefixes),
                               (variant_dir / BEST_NAME).stat().st_size,
                               decoder_latency(codec.model, lat_inputs, repeats=latency_repeats), info))
        log(f"  {name}: PSNR {row['psnr']:.2f} dB, SSIM {row['ssim']:.4f}, "
            f"decoder {rows[-1]['decoder_bytes']:,} B")
    reference = rows[0]
    for r in rows:
        r["decoder_ratio"] = reference["decoder_bytes"] / r["decoder_bytes"]
        r["delta_psnr"] = r["psnr"] - reference["psnr"]
        r["delta_ssim"] = r["ssim"] - reference["ssim"]
    return {"kind": "codec", "source": str(source), "arch": base.arch, "quant": base.quant,
            "decoder_modules": prefixes, "frames": int(len(test_frames)),
            "finetune_frames": int(len(train_frames)), "rows": rows}


def _codec_row(name, info, measured, decoder_bytes, file_bytes, latency, extra):
    return {
        "variant": name,
        "method": (info or {}).get("method", "none"),
        "requested_sparsity": (info or {}).get("requested_sparsity"),
        "reached_sparsity": (info or {}).get("reached_sparsity"),
        "decoder_bytes": int(decoder_bytes),
        "model_file_bytes": int(file_bytes),
        "bytes_per_frame": measured["bytes_per_frame"],
        "bpp": measured["bpp"],
        "psnr": measured["psnr"],
        "psnr_min": measured["psnr_min"],
        "ssim": measured["ssim"],
        "decode_fps": measured["decode_fps"],
        "decoder_ms_per_frame": latency["ms_per_frame"],
        "latency": latency,
        "finetune_mse": extra.get("finetune_mse"),
    }


def test_and_train_frames(data_dir, frames=None, train_frames=512, seed=0):
    """(test frames, fine-tuning frames) of a Pac-Man-style frame data set."""
    from data_tools import frames as frame_data
    from data_tools.frames import subsample
    from learned_codec.errors import UserError

    root = Path(data_dir) if data_dir else frame_data.DEFAULT_DIR
    for split in ("test", "train"):
        if not frame_data.split_path(root, split).exists():
            raise UserError(f"no {split} frames at {frame_data.split_path(root, split)}: make the data set "
                            f"with `learned-codec data pacman --out {root}` or pass --data DIR")
    test = np.ascontiguousarray(subsample(frame_data.load_split(root, "test"), frames))
    train = frame_data.load_split(root, "train", mmap=True)
    if train_frames:
        idx = np.sort(np.random.default_rng(seed).choice(len(train), min(train_frames, len(train)), replace=False))
        train = np.ascontiguousarray(train[idx])
    else:
        train = train[:0]
    return test, train, root


__all__ = ["compress_codec", "test_and_train_frames", "compressed_run_config"]
