"""Training loop for the autoencoder zoo: presets, validation, checkpoints, resume, DDP.

One function, `train(options)`, used by `learned-codec train` (commands/train.py).

Presets (per arch; explicit --epochs/--batch-size/--lr override them):
  quick      <= 10 minutes on 2 CPU cores: a few epochs over a random subset of the
             training frames (a new subset each epoch), validation on an evenly spaced
             subset of the validation split. fc and fc-deep use the shared-block model
             (one block model for the 16 positions; per-position fc-deep is 830 M
             parameters, far beyond a 10-minute CPU budget). See QUICK below.
  reference  the report's epochs (fc 60, fc-deep 30, conv4/conv5 320, vae 220) over
             the whole training split, batch 64, Adam lr 1e-3, per-position FC
             models; for a GPU. Validation on the whole validation split.
Without --preset: quick on CPU, reference on CUDA.

Initialisation: fc and fc-deep centre their inputs on the mean training frame
and start their decoders' output bias there (BlockwiseFC.init_from_mean; the mean
of up to 1,024 evenly spaced training frames), which keeps the ReLU codes alive;
conv4/conv5 start their sigmoid output at the mean colour (init_from_mean). Losses: MSE on [0, 1] pixels; vae: binary cross-entropy summed over the pixels of
an image + KL divergence averaged over the code dimensions (the reference's two
terms), per image, averaged over the batch (the reference summed BCE over the
batch, which ties the balance of the two terms to the batch size).

Entropy-coded archs (factorized, hyperprior; models/entropy.py): loss = rate +
lambda * 255^2 * MSE (CompressAI's convention), rate = bits per pixel from the
model's likelihoods (additive-noise proxy), lambda = the model config's `lmbda`
(--lmbda). Their EntropyBottleneck's quantile (aux) loss trains only its
`quantiles`, in a second parameter group of the same Adam optimizer (lr 1e-3):
one optimizer keeps the checkpoint format and resume unchanged, and the two
losses touch disjoint parameters, so this equals CompressAI's two optimizers.
Main gradients are clipped to norm 1 (CompressAI's example). Their best weights
are the epoch with the lowest validation rate-distortion loss (estimated bpp +
lambda * 255^2 * MSE of the uint8 reconstruction), not the highest PSNR; the CDF
tables are computed (model.update) before every save, so saved weights can code.

Validation each epoch: PSNR over RGB with peak 255 on uint8 frames, the mean of
per-frame values (a frame reconstructed exactly counts as 100 dB), over
`val_frames` frames; SSIM (skimage, channel_axis=-1, data_range=255) over the
first `ssim_frames` of them (SSIM costs ~10 ms a frame on a CPU). The
reconstruction goes through the training quantizer, i.e. it is what a stored
uint8 code decodes to.

Determinism: on CPU with a fixed seed (and the same thread count) two runs give
identical weights, and a run killed and resumed gives the same weights as an
uninterrupted one: the epoch's sample order comes from seed + epoch, the
checkpoint holds the position inside the epoch, the optimizer state and the torch
RNG state (the VAE's noise). Checkpoints are written at the end of each epoch
(every `checkpoint_every` epochs: 5 for the reference fc-deep, whose state is
~10 GB), on --max-steps, and on SIGINT/SIGTERM (at the next step boundary, then
exit 130). metrics.jsonl keeps only the epochs up to the resumed checkpoint.

Multi-process: under torchrun (WORLD_SIZE > 1) the same command trains with
DistributedDataParallel, gloo on CPU and NCCL on CUDA; --batch-size is per
process; rank 0 alone validates and writes. Mixed precision (bfloat16 autocast)
and torch.compile are used on CUDA only.
"""
import math
import os
import signal
import sys
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from . import checkpoint as ckpt
from .errors import UserError
from .fileio import atomic_write_bytes, check_writable_dir
from .models import build_model, count_parameters, default_config, frames_to_tensor, tensor_to_frames
from .models.registry import get_arch
from .models.registry import model_config as model_config_checked
from .train_quant import QUANT_METHODS, make_train_quantizer

REFERENCE_EPOCHS = {"fc": 60, "fc-deep": 30, "conv4": 320, "conv5": 320, "vae": 220,
                    # not in the report: ~200 epochs of the training split, a GPU run
                    "factorized": 200, "hyperprior": 200}
AUX_LR = 1e-3  # lr of the entropy models' quantile (aux) parameters

# Quick preset, sized from measured CPU step times (2 cores, see the report of
# issue 4): epochs x frames_per_epoch training frames, batch, validation subset.
QUICK = {
    # measured ~230 frames/s (shared block model, batch 32): ~2.5 min of training
    "fc":      {"epochs": 8, "frames_per_epoch": 4096, "batch_size": 32, "lr": 1e-3,
                "val_frames": 128, "ssim_frames": 32, "blocks": "shared"},
    # ~36 frames/s: ~5 min
    "fc-deep": {"epochs": 5, "frames_per_epoch": 2048, "batch_size": 16, "lr": 3e-4,
                "val_frames": 64, "ssim_frames": 32, "blocks": "shared"},
    # conv4/conv5: ~30 frames/s on 2 idle cores (full-resolution convs): 6 x 1536
    # frames is ~5 min. Far from the reference's 320 epochs: a CPU-sized start only.
    "conv4":   {"epochs": 6, "frames_per_epoch": 1536, "batch_size": 16, "lr": 2e-3,
                "val_frames": 64, "ssim_frames": 32},
    "conv5":   {"epochs": 6, "frames_per_epoch": 1536, "batch_size": 16, "lr": 2e-3,
                "val_frames": 64, "ssim_frames": 32},
    # ~45 frames/s (the 102 M parameters are cheap fully connected layers): ~3.5 min
    "vae":     {"epochs": 6, "frames_per_epoch": 1536, "batch_size": 32, "lr": 5e-4,
                "val_frames": 64, "ssim_frames": 32},
    # Entropy-coded (N=64, M=96; their first conv has stride 2, so far cheaper than
    # conv4): measured ~22 frames/s a training step at batch 8 on 2 busy cores, so
    # 6,144 frames is ~5 min (up to ~10 when the cores are shared). A smoke preset only:
    # the SPEC measured such a hyperprior at ~30 dB and 4.5 KB/frame after 13 min, still
    # climbing; competitive rates need hours (GPU: --preset reference, or CPU runs with
    # more --epochs in the background).
    "factorized": {"epochs": 4, "frames_per_epoch": 1536, "batch_size": 8, "lr": 5e-4,
                   "val_frames": 64, "ssim_frames": 32},
    "hyperprior": {"epochs": 4, "frames_per_epoch": 1536, "batch_size": 8, "lr": 5e-4,
                   "val_frames": 64, "ssim_frames": 32},
}


def is_entropy_arch(arch):
    """Entropy-coded archs train for rate + lambda * distortion (models/entropy.py)."""
    return bool(getattr(get_arch(arch).builder, "entropy_coded", False))


def preset_options(preset, arch):
    if preset == "quick":
        return dict(QUICK[arch])
    if preset == "reference":
        opts = {"epochs": REFERENCE_EPOCHS[arch], "frames_per_epoch": None, "batch_size": 64,
                "lr": 1e-3, "val_frames": None, "ssim_frames": 256}
        if arch in ("fc", "fc-deep"):
            opts["blocks"] = "per-position"
        if arch == "fc-deep":
            # 830 M parameters: a full training state is ~10 GB, so not every epoch.
            opts["checkpoint_every"] = 5
        return opts
    raise UserError(f"unknown preset {preset!r}; choose quick or reference")


# ---- distributed ------------------------------------------------------------------

class Dist:
    """Rank/world of this process; a no-op single process unless torchrun started us."""

    def __init__(self, device_kind):
        self.world = int(os.environ.get("WORLD_SIZE", "1"))
        self.rank = int(os.environ.get("RANK", "0"))
        self.local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        self.enabled = self.world > 1
        if self.enabled:
            import torch.distributed as dist

            backend = "nccl" if device_kind == "cuda" else "gloo"
            if device_kind == "cuda":
                torch.cuda.set_device(self.local_rank)
            dist.init_process_group(backend=backend)

    @property
    def main(self):
        return self.rank == 0

    def barrier(self):
        if self.enabled:
            torch.distributed.barrier()

    def any_true(self, flag, device):
        if not self.enabled:
            return flag
        t = torch.tensor([1.0 if flag else 0.0], device=device)
        torch.distributed.all_reduce(t)
        return bool(t.item() > 0)

    def close(self):
        if self.enabled and torch.distributed.is_initialized():
            torch.distributed.destroy_process_group()


# ---- data -------------------------------------------------------------------------

def load_data(data_dir, allow_make, main):
    from data_tools import frames as frame_store

    if data_dir is None:
        data_dir = frame_store.DEFAULT_DIR
        if not (Path(data_dir) / "manifest.json").is_file() and not frame_store.split_path(data_dir, "train").is_file():
            if not allow_make:
                raise UserError(f"no data at {data_dir}: make it first with `learned-codec data pacman`")
            if main:
                print(f"no data at {data_dir}: making the built-in Pac-Man data set", file=sys.stderr)
                try:
                    from data_tools.pacman import make_dataset
                except ImportError as e:
                    raise UserError(f"cannot make the Pac-Man data set here ({e}); pass --data DIR") from None
                make_dataset(data_dir)
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise UserError(f"data folder {data_dir} does not exist")
    train = frame_store.load_split(data_dir, "train", mmap=True)
    val = frame_store.load_split(data_dir, "val", mmap=True)
    for name, arr in (("train", train), ("val", val)):
        if len(arr) == 0:
            raise UserError(f"data folder {data_dir} has no {name} frames")
    if train.shape[1:] != val.shape[1:]:
        raise UserError(f"train frames are {train.shape[1:3]} but val frames {val.shape[1:3]}")
    return data_dir, train, val


def epoch_indices(n_frames, epoch, seed, dist, frames_per_epoch):
    """This rank's frame indices for `epoch`: DistributedSampler's shuffle (seed + epoch),
    cut to this rank's share of `frames_per_epoch` (a fresh random subset each epoch)."""
    from torch.utils.data import DistributedSampler

    sampler = DistributedSampler(range(n_frames), num_replicas=dist.world, rank=dist.rank,
                                 shuffle=True, seed=seed, drop_last=False)
    sampler.set_epoch(epoch)
    indices = list(sampler)
    if frames_per_epoch:
        indices = indices[: math.ceil(frames_per_epoch / dist.world)]
    return indices


def mean_image(frames, count=1024):
    """Mean of up to `count` evenly spaced frames, float 3 x H x W in [0, 1] (deterministic)."""
    idx = val_subset(len(frames), count)
    total = np.zeros(frames.shape[1:], np.float64)
    for start in range(0, len(idx), 128):
        total += frames[idx[start:start + 128]].sum(axis=0, dtype=np.float64)
    return torch.from_numpy(total / (255.0 * len(idx))).permute(2, 0, 1).float()


def val_subset(n_frames, count):
    """Evenly spaced indices (covers every video of the split), all frames if count is None."""
    if not count or count >= n_frames:
        return np.arange(n_frames)
    return np.unique(np.linspace(0, n_frames - 1, count).round().astype(np.int64))


def batch_tensor(frames, indices, device):
    # Sorted reads from the memory map are faster; the order inside a batch does not
    # change the gradient (a mean), and BN statistics are order-free too.
    return frames_to_tensor(np.ascontiguousarray(frames[np.sort(indices)]), device)


# ---- loss and metrics -------------------------------------------------------------

def rate_bpp(likelihoods, n_pixels):
    """Bits per pixel of a batch from an entropy model's likelihoods (sum over all terms)."""
    return sum(torch.log(l.float()).sum() for l in likelihoods.values()) / (-math.log(2) * n_pixels)


def compute_loss(kind, out, x, lmbda=None):
    x_hat = out["x_hat"].float()
    if kind == "rate-distortion":
        n_pixels = x.shape[0] * x.shape[2] * x.shape[3]
        return rate_bpp(out["likelihoods"], n_pixels) + lmbda * 255 ** 2 * F.mse_loss(x_hat, x)
    if kind == "vae-bce-kl":
        bce = F.binary_cross_entropy(x_hat.clamp(0, 1), x, reduction="sum") / x.shape[0]
        mu, logvar = out["mu"].float(), out["logvar"].float()
        kl = (-0.5 * (1 + logvar - mu.pow(2) - logvar.exp())).mean(dim=1).mean()
        return bce + kl
    return F.mse_loss(x_hat, x)


def psnr_per_frame(a, b):
    """uint8 N x H x W x 3 pairs -> per-frame PSNR (peak 255) over all RGB values, capped at 100."""
    mse = ((a.astype(np.float64) - b.astype(np.float64)) ** 2).reshape(len(a), -1).mean(axis=1)
    with np.errstate(divide="ignore"):
        psnr = 10 * np.log10(255.0 ** 2 / mse)
    return np.minimum(psnr, 100.0)


def ssim_per_frame(a, b):
    from skimage.metrics import structural_similarity

    return np.array([structural_similarity(x, y, channel_axis=-1, data_range=255) for x, y in zip(a, b)])


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
    psnr = psnr_per_frame(originals, recon)
    ssim = ssim_per_frame(originals[:ssim_count], recon[:ssim_count])
    row = {"val_psnr": float(psnr.mean()), "val_ssim": float(ssim.mean()),
           "val_frames": int(len(psnr)), "ssim_frames": int(len(ssim))}
    if bits:  # entropy models: estimated rate and the rate-distortion loss
        bpp = float(np.mean(bits)) / (originals.shape[1] * originals.shape[2])
        mse = float(((originals.astype(np.float64) - recon) / 255.0).__pow__(2).mean())
        row.update({"val_bpp_est": bpp, "val_rd_loss": bpp + model.lmbda * 255 ** 2 * mse})
    return row


def autocast(device, amp):
    if amp and device.type == "cuda":
        return torch.autocast("cuda", dtype=torch.bfloat16)
    import contextlib

    return contextlib.nullcontext()


# ---- configuration ----------------------------------------------------------------

def resolve_device(name):
    if name == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if name == "cuda" and not torch.cuda.is_available():
        raise UserError("--device cuda: no CUDA device is available here")
    if name not in ("cpu", "cuda"):
        raise UserError(f"unknown device {name!r}; choose auto, cpu or cuda")
    return name


def make_model_config(arch, code_size, blocks, frame_size, lmbda=None):
    config = default_config(arch)
    if lmbda is not None:
        if "lmbda" not in config:
            raise UserError(f"--lmbda applies to the entropy-coded archs factorized and hyperprior, not {arch}")
        if not lmbda > 0:
            raise UserError("--lmbda must be > 0")
        config["lmbda"] = float(lmbda)
    if is_entropy_arch(arch):
        if code_size is not None:
            raise UserError(f"--code-size does not apply to {arch}: its rate is set by --lmbda")
        config["frame_size"] = list(frame_size)
        return config
    if blocks is not None:
        if "blocks" not in config:
            raise UserError(f"--blocks applies to the blockwise archs fc and fc-deep, not {arch}")
        config["blocks"] = blocks
    if arch in ("conv4", "conv5"):
        config["frame_size"] = list(frame_size)
        if code_size is not None:
            from .models.conv import code_positions

            levels = 4 if arch == "conv4" else 5
            positions = code_positions(levels, frame_size)
            if code_size <= 0 or code_size % positions:
                raise UserError(
                    f"{arch} codes have {positions} positions on {frame_size[0]}x{frame_size[1]} frames: "
                    f"--code-size must be a positive multiple of {positions} "
                    f"(the reference is {config['code_channels'] * positions})"
                )
            config["code_channels"] = code_size // positions
    elif code_size is not None:
        if code_size <= 0:
            raise UserError("--code-size must be positive")
        config["code_size"] = code_size
    return config


def code_entries(model, frame_size):
    x = torch.zeros(1, 3, *frame_size)
    with torch.no_grad():
        was = model.training
        model.eval()
        n = model.encode(x).numel()
        model.train(was)
    return int(n)


def new_run_config(opts, frame_size, data_dir, n_train, n_val, device_kind):
    arch = opts["arch"]
    get_arch(arch)  # unknown arch -> UserError before anything else
    quant = opts.get("quant") or "none"
    entropy = is_entropy_arch(arch)
    if entropy:  # the entropy model is their quantizer
        if quant not in ("none", "entropy"):
            raise UserError(f"{arch} is entropy-coded: --quant {quant} does not apply (its codes are rANS-coded)")
        quant = "entropy"
    elif quant == "entropy":
        raise UserError(f"--quant entropy needs an entropy-coded arch (factorized, hyperprior), not {arch}")
    elif quant not in QUANT_METHODS:
        raise UserError(f"unknown --quant {quant!r}; choose one of {', '.join(QUANT_METHODS)}")
    preset = opts.get("preset") or ("reference" if device_kind == "cuda" else "quick")
    p = preset_options(preset, arch)
    blocks = opts.get("blocks") or p.pop("blocks", None)
    p.pop("blocks", None)
    p.setdefault("checkpoint_every", 1)
    for key in ("epochs", "batch_size", "lr", "frames_per_epoch", "val_frames", "ssim_frames",
                "checkpoint_every"):
        if opts.get(key) is not None:
            p[key] = opts[key]
    if p["epochs"] < 1 or p["batch_size"] < 1 or not p["lr"] > 0:
        raise UserError("--epochs and --batch-size must be >= 1 and --lr > 0")
    model_config = make_model_config(arch, opts.get("code_size"), blocks, frame_size, opts.get("lmbda"))
    # Internal (not on the command line): extra model options, e.g. small fc-deep
    # hidden widths for tests; validated by the registry like any model config.
    model_config = model_config_checked({**model_config, **(opts.get("model_options") or {})})
    return {
        "format": "learned-codec-run",
        "version": 1,
        "arch": arch,
        "model": model_config,
        "quant": quant,
        "data": {"dir": str(data_dir), "frame_size": list(frame_size),
                 "train_frames": int(n_train), "val_frames": int(n_val)},
        "train": {
            "preset": preset,
            **p,
            "seed": int(opts.get("seed") or 0),
            "optimizer": "adam",
            "loss": "vae-bce-kl" if arch == "vae" else "rate-distortion" if entropy else "mse",
        },
    }


# ---- the loop ---------------------------------------------------------------------

class StopFlag:
    """SIGINT/SIGTERM set a flag; the loop saves at the next step boundary and stops."""

    def __init__(self):
        self.raised = False
        self._old = {}

    def __enter__(self):
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                self._old[sig] = signal.signal(sig, self._handle)
            except ValueError:  # not the main thread
                pass
        return self

    def _handle(self, signum, frame):
        self.raised = True

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)


def train(opts):
    """Train per `opts` (dict of the CLI options); returns a JSON-able summary."""
    from tqdm import tqdm

    device_kind = resolve_device(opts.get("device") or "auto")
    get_arch(opts["arch"])
    entropy = is_entropy_arch(opts["arch"])
    default_quant = "entropy" if entropy else opts.get("quant") or "none"
    out = opts.get("out") or f"runs/{opts['arch']}-{default_quant}"
    run_dir = Path(out)
    resume = bool(opts.get("resume"))

    # Validate the run folder before any heavy work, so that nothing is lost.
    if resume:
        if not ckpt.has_last(run_dir):
            raise UserError(f"--resume: {run_dir} has no checkpoint to resume (no {ckpt.LAST_POINTER})")
        config = ckpt.load_config(run_dir)
        if config.get("arch") != opts["arch"]:
            raise UserError(f"--resume: {run_dir} holds a {config.get('arch')} run, not {opts['arch']}")
        last = ckpt.load_last(run_dir)  # corrupt -> UserError, before anything is written
        if opts.get("epochs") is not None:
            config["train"]["epochs"] = int(opts["epochs"])
    elif ckpt.has_last(run_dir) or (run_dir / ckpt.BEST_NAME).exists():
        # (A config.json alone, from a run that died before its first checkpoint, holds
        # nothing to lose and is overwritten.)
        raise UserError(f"{run_dir} already holds a run: pass --resume to continue it, or choose another --out")

    dist = Dist(device_kind)
    try:
        if dist.main:
            check_writable_dir(run_dir)
        device = torch.device(f"cuda:{dist.local_rank}" if device_kind == "cuda" else "cpu")
        data_dir = opts.get("data") or (config["data"]["dir"] if resume else None)
        data_dir, train_frames, val_frames = load_data(data_dir, allow_make=not dist.enabled, main=dist.main)
        frame_size = tuple(train_frames.shape[1:3])

        if not resume:
            config = new_run_config(opts, frame_size, data_dir, len(train_frames), len(val_frames), device_kind)
        elif list(frame_size) != config["data"]["frame_size"]:
            raise UserError(f"--resume: the frames in {data_dir} are now {frame_size}, the run used "
                            f"{tuple(config['data']['frame_size'])}")
        tc = config["train"]
        torch.manual_seed(tc["seed"])
        model = build_model(config["model"])
        if getattr(model, "fixed_frame_size", False) and frame_size != model.frame_size:
            h, w = model.frame_size
            raise UserError(
                f"{config['arch']} needs {h}x{w} frames, the data in {data_dir} has "
                f"{frame_size[0]}x{frame_size[1]}; use conv4/conv5 (they pad any size) or resize the frames"
            )
        entries = code_entries(model, frame_size)
        config["code"] = {"entries_per_frame": entries,
                          "reference_ratio_float32": entries * 4 / (3 * frame_size[0] * frame_size[1]),
                          "parameters": count_parameters(model)}
        if not resume and hasattr(model, "init_from_mean"):
            model.init_from_mean(mean_image(train_frames))
        if not entropy:  # entropy models quantize inside (their entropy model)
            model.code_quantizer = make_train_quantizer(config["quant"])
        model.to(device)
        optimizer = make_optimizer(model, tc["lr"], entropy)

        state = {"epoch": 0, "batch": 0, "step": 0, "best_psnr": None, "best_epoch": None, "seconds": 0.0,
                 "epoch_loss_sum": 0.0, "epoch_loss_n": 0, "best_rd_loss": None}
        metrics = []
        if resume:
            model.load_state_dict(last["model"])
            optimizer.load_state_dict(last["optimizer"])
            ckpt.set_rng_state(last["rng"])
            state.update({k: last["state"][k] for k in state if k in last["state"]})
            metrics = [m for m in read_metrics(run_dir) if m.get("epoch", 0) <= state["epoch"]]
        elif dist.main:
            ckpt.save_config(run_dir, config)

        amp = device.type == "cuda" and opts.get("amp") is not False
        train_model = model
        if device.type == "cuda" and opts.get("compile") is not False:
            train_model.compile()  # in place: state_dict keys stay the same
        if dist.enabled:
            from torch.nn.parallel import DistributedDataParallel

            train_model = DistributedDataParallel(
                model, device_ids=[dist.local_rank] if device.type == "cuda" else None)
        model.train()

        epochs, bs = tc["epochs"], tc["batch_size"]
        per_epoch = len(epoch_indices(len(train_frames), 0, tc["seed"], dist, tc["frames_per_epoch"]))
        steps_per_epoch = math.ceil(per_epoch / bs)
        total_steps = epochs * steps_per_epoch
        max_steps = opts.get("max_steps")
        val_idx = val_subset(len(val_frames), tc["val_frames"])
        ssim_count = min(len(val_idx), tc["ssim_frames"] or len(val_idx))

        bar = tqdm(total=total_steps, initial=state["step"], disable=not dist.main or opts.get("quiet"),
                   unit="step", dynamic_ncols=True, desc=f"{config['arch']}")
        stopped = None
        t_start = time.time() - state["seconds"]
        with StopFlag() as stop:
            for epoch in range(state["epoch"], epochs):
                indices = epoch_indices(len(train_frames), epoch, tc["seed"], dist, tc["frames_per_epoch"])
                batches = [indices[i:i + bs] for i in range(0, len(indices), bs)]
                # (a resumed epoch carries on the loss average of its first part)
                loss_sum, loss_n = state["epoch_loss_sum"], state["epoch_loss_n"]
                t_epoch, frames_done = time.time(), 0
                for b in range(state["batch"], len(batches)):
                    x = batch_tensor(train_frames, batches[b], device)
                    with autocast(device, amp):
                        out = train_model(x)
                    loss = compute_loss(tc["loss"], out, x, getattr(model, "lmbda", None))
                    optimizer.zero_grad(set_to_none=True)
                    if entropy:
                        (loss + model.aux_loss()).backward()
                        torch.nn.utils.clip_grad_norm_(optimizer.param_groups[0]["params"], 1.0)
                    else:
                        loss.backward()
                    optimizer.step()
                    state["batch"], state["step"] = b + 1, state["step"] + 1
                    loss_sum += float(loss.detach())
                    loss_n += 1
                    state["epoch_loss_sum"], state["epoch_loss_n"] = loss_sum, loss_n
                    frames_done += len(batches[b]) * dist.world
                    fps = frames_done / max(time.time() - t_epoch, 1e-9)
                    bar.set_postfix(epoch=f"{epoch + 1}/{epochs}", loss=f"{loss_sum / loss_n:.5f}",
                                    fps=f"{fps:.1f}")
                    bar.update(1)
                    hit_max = max_steps is not None and state["step"] >= max_steps
                    if dist.any_true(stop.raised or hit_max, device):
                        stopped = "max_steps" if hit_max else "signal"
                        break
                if stopped:
                    break
                state["epoch"], state["batch"] = epoch + 1, 0
                state["epoch_loss_sum"], state["epoch_loss_n"] = 0.0, 0
                state["seconds"] = time.time() - t_start
                if entropy:  # CDF tables into the buffers that get saved (every rank: DDP syncs buffers)
                    model.update(force=True)
                if dist.main:
                    row = {"epoch": epoch + 1, "step": state["step"], "train_loss": loss_sum / max(loss_n, 1),
                           "frames_per_s": frames_done / max(time.time() - t_epoch, 1e-9),
                           "seconds": round(state["seconds"], 2)}
                    row.update(validate(model, val_frames, val_idx, ssim_count, device, 2 * bs, amp))
                    metrics.append(row)
                    bar.write(f"epoch {epoch + 1}/{epochs}: loss {row['train_loss']:.5f}  "
                              f"val PSNR {row['val_psnr']:.2f} dB  SSIM {row['val_ssim']:.4f}", file=sys.stderr)
                    if is_better(row, state, entropy):
                        state["best_psnr"], state["best_epoch"] = row["val_psnr"], epoch + 1
                        state["best_rd_loss"] = row.get("val_rd_loss")
                        ckpt.save_best(run_dir, model.state_dict(), config["model"],
                                       {k: row[k] for k in ("epoch", "step", "val_psnr", "val_ssim")})
                    write_metrics(run_dir, metrics)
                    if (epoch + 1) % tc.get("checkpoint_every", 1) == 0 or epoch + 1 == epochs:
                        ckpt.save_last(run_dir, state["step"], model.state_dict(), optimizer.state_dict(), state)
                dist.barrier()
        bar.close()
        state["seconds"] = time.time() - t_start
        if stopped and entropy:
            model.update(force=True)
        if stopped and dist.main:
            ckpt.save_last(run_dir, state["step"], model.state_dict(), optimizer.state_dict(), state)
            if not (run_dir / ckpt.BEST_NAME).exists():
                # No epoch finished yet: still leave a loadable model behind.
                ckpt.save_best(run_dir, model.state_dict(), config["model"],
                               {"epoch": state["epoch"], "step": state["step"], "partial": True})
        dist.barrier()
        if stopped == "signal":
            raise KeyboardInterrupt
        summary = {
            "run_dir": str(run_dir),
            "arch": config["arch"],
            "quant": config["quant"],
            "preset": tc["preset"],
            "device": device.type,
            "world_size": dist.world,
            "epochs": state["epoch"],
            "steps": state["step"],
            "complete": state["epoch"] >= epochs,
            "seconds": round(state["seconds"], 2),
            "parameters": config["code"]["parameters"],
            "code_entries_per_frame": config["code"]["entries_per_frame"],
            "best": {"epoch": state["best_epoch"], "val_psnr": state["best_psnr"],
                     "val_ssim": next((m["val_ssim"] for m in metrics if m["epoch"] == state["best_epoch"]), None)},
            "last": metrics[-1] if metrics else None,
        }
        if dist.main and (run_dir / ckpt.BEST_NAME).exists():
            summary["weights_sha256"] = ckpt.load_tensors(run_dir / ckpt.BEST_NAME)[1]["weights_sha256"]
            if summary["complete"] and opts.get("test") is not False:
                summary["test"] = evaluate_test_split(run_dir, data_dir, config, device, bs, amp)
        return summary
    finally:
        dist.close()


def make_optimizer(model, lr, entropy):
    """Adam; entropy models get a second group for their quantile (aux) parameters."""
    if not entropy:
        return torch.optim.Adam(model.parameters(), lr=lr)
    aux = {id(p) for p in model.aux_parameters()}
    main = [p for p in model.parameters() if id(p) not in aux]
    return torch.optim.Adam([{"params": main, "lr": lr},
                             {"params": model.aux_parameters(), "lr": AUX_LR}])


def is_better(row, state, entropy):
    """Best epoch: lowest validation rate-distortion loss (entropy models), else highest PSNR."""
    if state["best_epoch"] is None:
        return True
    if entropy:
        return state.get("best_rd_loss") is None or row["val_rd_loss"] < state["best_rd_loss"]
    return row["val_psnr"] > state["best_psnr"]


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
    from .fileio import atomic_write_json

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


