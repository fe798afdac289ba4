"""Validation and test metrics of a model during and after training, and metrics.jsonl."""
from pathlib import Path

import numpy as np
import torch

from learned_codec.eval import metrics
from learned_codec.fileio import atomic_write_bytes
from learned_codec.models import checkpoint as ckpt
from learned_codec.models import frames_to_tensor, tensor_to_frames
from learned_codec.quant.training import make_train_quantizer


def autocast(device, amp):
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    import contextlib

    return contextlib.nullcontext()


@torch.no_grad()
def reconstruct(model, frames, device, batch_size, amp, bits=None):
    """uint8 frames -> uint8 reconstructions through the model (eval mode, quantized code).
    For entropy models, `bits` (a list) receives each frame's estimated bits."""
    was_training = model.training
    model.eval()
    outs = []
    for start in range(0, len(frames), batch_size):
        x = frames_to_tensor(np.ascontiguousarray(frames[start:start + batch_size]), device)
        with autocast(device, amp):
            out = model(x)
        outs.append(tensor_to_frames(out["x_hat"]))
        if bits is not None and "likelihoods" in out:
            per_frame = sum(torch.log2(l.float()).flatten(1).sum(1) for l in out["likelihoods"].values())
            bits.extend((-per_frame).cpu().tolist())
    model.train(was_training)
    return np.concatenate(outs) if outs else np.zeros((0,) + frames.shape[1:], np.uint8)


def validate(model, val_frames, indices, ssim_count, device, batch_size, amp):
    originals = np.ascontiguousarray(val_frames[indices])
    bits = []
    recon = reconstruct(model, originals, device, batch_size, amp, bits=bits)
    psnr = metrics.psnr_per_frame(originals, recon)
    ssim = metrics.ssim_per_frame(originals[:ssim_count], recon[:ssim_count])
    row = {"val_psnr": float(psnr.mean()), "val_ssim": float(ssim.mean()),
           "val_frames": int(len(psnr)), "ssim_frames": int(len(ssim))}
    if bits:  # entropy models: estimated rate and the rate-distortion loss
        bpp = float(np.mean(bits)) / (originals.shape[1] * originals.shape[2])
        mse = float(((originals.astype(np.float64) - recon) / 255.0).__pow__(2).mean())
        row.update({"val_bpp_est": bpp, "val_rd_loss": bpp + model.lmbda * 255 ** 2 * mse})
    return row


def evaluate_test_split(run_dir, data_dir, config, device, batch_size, amp):
    """Best weights on the whole test split (PSNR and SSIM on every frame), through the
    training quantizer (= what the stored uint8 code decodes to); written to
    RUN_DIR/test_metrics.json. None when the data set has no test split."""
    from data_tools import frames as frame_store

    if not frame_store.split_path(data_dir, "test").is_file():
        return None
    test = frame_store.load_split(data_dir, "test", mmap=True)
    if len(test) == 0:
        return None
    model, _ = ckpt.load_model(run_dir, device=device)
    if not getattr(model, "entropy_coded", False):
        model.code_quantizer = make_train_quantizer(config["quant"])
    idx = np.arange(len(test))
    row = validate(model, test, idx, len(idx), device, 2 * batch_size, amp)
    result = {"test_psnr": row["val_psnr"], "test_ssim": row["val_ssim"], "test_frames": row["val_frames"],
              "quant": config["quant"], "weights_sha256": model.weights_sha256}
    if "val_bpp_est" in row:  # entropy models: likelihood-based estimate; real bytes: `eval`
        result["test_bpp_est"] = row["val_bpp_est"]
    from learned_codec.fileio import atomic_write_json

    atomic_write_json(Path(run_dir) / "test_metrics.json", result)
    return result


def read_metrics(run_dir):
    import json

    path = Path(run_dir) / "metrics.jsonl"
    if not path.is_file():
        return []
    rows = []
    for line in path.read_text().splitlines():
        try:
            rows.append(json.loads(line))
        except ValueError:
            break  # a torn last line: keep what precedes it
    return rows


def write_metrics(run_dir, rows):
    """Rewrite metrics.jsonl atomically (a few hundred lines at most)."""
    import json

    text = "".join(json.dumps(r, sort_keys=True) + "\n" for r in rows)
    atomic_write_bytes(Path(run_dir) / "metrics.jsonl", text.encode())
