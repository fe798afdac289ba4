"""Training presets (quick for CPUs, reference for a GPU) and the run config they fill in."""
import torch

from learned_codec.errors import UserError
from learned_codec.training import lr_schedule
from learned_codec.models import default_config
from learned_codec.models.registry import get_arch
from learned_codec.models.registry import model_config as model_config_checked
from learned_codec.quant.training import QUANT_GRADS, QUANT_METHODS

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



# cpu-long (issue 16): what these CPUs can afford in ~2 h of one core per run, with the
# faster loop (training/speed.py: contiguous batches, random crops for conv4/conv5 in the
# first 80 % of the epochs, whole frames after) and warm-up + cosine decay
# (training/lr_schedule.py). conv5 sized from measured 1-thread speeds on shared cores:
# ~12.5 frames/s on 128x160 crops, ~6.6 on whole frames -> 32 x 2048 frames ~ 1 h 50.
# conv4, vae: sized from the quick preset's speeds.
_CPU_LONG_RECIPE = {"lr_schedule": "cosine", "min_lr_ratio": 0.01, "fast_batch": True}
CPU_LONG = {
    "conv5": {"epochs": 32, "frames_per_epoch": 2048, "batch_size": 16, "lr": 2e-3, "warmup_steps": 200,
              "crop": [128, 160], "crop_fraction": 0.8, "val_frames": 128, "ssim_frames": 32},
    "conv4": {"epochs": 32, "frames_per_epoch": 2048, "batch_size": 16, "lr": 2e-3, "warmup_steps": 200,
              "crop": [128, 160], "crop_fraction": 0.8, "val_frames": 128, "ssim_frames": 32},
    "vae":   {"epochs": 30, "frames_per_epoch": 4096, "batch_size": 32, "lr": 5e-4, "warmup_steps": 200,
              "val_frames": 128, "ssim_frames": 32},
    "fc":    {"epochs": 100, "frames_per_epoch": None, "batch_size": 32, "lr": 1e-3, "warmup_steps": 200,
              "val_frames": 256, "ssim_frames": 32, "blocks": "shared"},
    # fc-deep: measured 14-17 frames/s on one shared core (batch 32, ~2 s a step, compute-bound),
    # so 36 x 3072 frames ~ 1 h 50 (measured 6,764 s: test 32.62 dB, the reference's 32.25 met;
    # 24 epochs reached 31.69).
    "fc-deep": {"epochs": 36, "frames_per_epoch": 3072, "batch_size": 32, "lr": 4e-4, "warmup_steps": 200,
                "val_frames": 128, "ssim_frames": 32, "blocks": "shared"},
}
# Options of the faster loop and the schedule; absent from a run's config = the old loop.
SPEED_KEYS = ("lr_schedule", "warmup_steps", "min_lr_ratio", "crop", "crop_fraction", "fast_batch")


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
    if preset == "cpu-long":
        if arch not in CPU_LONG:
            raise UserError(f"--preset cpu-long has no recipe for {arch}; choose one of {', '.join(CPU_LONG)}")
        return {**_CPU_LONG_RECIPE, **CPU_LONG[arch]}
    raise UserError(f"unknown preset {preset!r}; choose quick, cpu-long or reference")


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
            from learned_codec.models.conv import code_positions

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


# option -> (lowest, highest, may be None): checked up front, before any data is loaded.
TRAIN_RANGES = {"epochs": (1, 10 ** 6, False), "batch_size": (1, 1 << 16, False),
                "frames_per_epoch": (1, 1 << 31, True), "val_frames": (1, 1 << 31, True),
                "ssim_frames": (0, 1 << 31, True), "checkpoint_every": (1, 10 ** 6, False)}


def check_train_options(p, where="options"):
    """Range-check training options (a run config's "train", or the CLI's): UserError naming
    the option, e.g. --checkpoint-every 0 (which used to fail after a whole epoch)."""
    if not isinstance(p, dict):
        raise UserError(f"{where}: no training options")
    for key, (lo, hi, optional) in TRAIN_RANGES.items():
        v = p.get(key)
        if v is None and (optional or key not in p):
            continue
        if not isinstance(v, int) or isinstance(v, bool) or not lo <= v <= hi:
            raise UserError(f"{where}: --{key.replace('_', '-')} must be an int in [{lo}, {hi}], not {v!r:.40}")
    lr = p.get("lr")
    if lr is not None and (isinstance(lr, bool) or not isinstance(lr, (int, float)) or not 0 < lr < 10):
        raise UserError(f"{where}: --lr must be a number in (0, 10), not {lr!r:.40}")


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
                "checkpoint_every") + SPEED_KEYS:
        if opts.get(key) is not None:
            p[key] = opts[key]
    if opts.get("quant_grad") is not None:
        if opts["quant_grad"] not in QUANT_GRADS:
            raise UserError(f"unknown --quant-grad {opts['quant_grad']!r}; choose {', '.join(QUANT_GRADS)}")
        if opts["quant_grad"] != "ste" and quant != "naive":
            raise UserError(f"--quant-grad {opts['quant_grad']} applies to --quant naive only, not {quant}")
        p["quant_grad"] = opts["quant_grad"]
    if p.get("lr_schedule", "constant") not in lr_schedule.SCHEDULES:
        raise UserError(f"unknown --lr-schedule {p['lr_schedule']!r}; choose {', '.join(lr_schedule.SCHEDULES)}")
    if p.get("crop") is not None:
        crop = [int(v) for v in p["crop"]]
        if len(crop) != 2 or min(crop) < 1:
            raise UserError("--crop takes HEIGHT WIDTH, both >= 1")
        if arch not in ("conv4", "conv5"):
            raise UserError(f"--crop applies to the fully convolutional conv4 and conv5, not {arch}")
        p["crop"] = crop
    check_train_options(p)
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
